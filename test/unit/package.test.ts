// The package as users meet it: its npm name, the `twl` command it installs, and the README
// and help texts that tell people how to run it.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { twlVersion } from '../../src/agents/backup/manifest.js';
import { twlToolInfo } from '../../src/agents/code-review/sarif.js';
import { quickStart, root } from '../helpers.js';

const read = (file: string) => readFileSync(path.join(root, file), 'utf8');
const pkg = JSON.parse(read('package.json')) as { name: string; version: string; bin: Record<string, string>; oclif: { bin: string; dirname: string }; devDependencies: Record<string, string> };

describe('the package', () => {
  it('is published as twisterlab (the npm name twl is an unrelated package) and installs the twl command', () => {
    expect(pkg.name).toBe('twisterlab');
    expect(pkg.bin).toEqual({ twl: './bin/twl' });
    // oclif's bin and data folder stay twl: the data of existing users must not move.
    expect(pkg.oclif.bin).toBe('twl');
    expect(pkg.oclif.dirname).toBe('twl');
    // The pinned runtime the launcher runs twl on comes with npm ci.
    expect(pkg.devDependencies.node).toMatch(/^\^24\./);
  });

  it("finds its own version through the renamed package.json (backups and SARIF logs record it)", () => {
    expect(twlVersion()).toBe(pkg.version);
    expect(twlToolInfo().version).toBe(pkg.version);
  });
});

describe('how the README and the help tell people to run twl', () => {
  const readme = read('README.md');

  it('says twl, never npx twl (npx would fetch the registry package named twl, someone else\'s)', () => {
    expect(readme).not.toMatch(/npx\s+twl\b/);
    expect(readme).not.toMatch(/npx\s+twisterlab\b/);
  });

  it('sets up a twl command on PATH, then runs the main job with it', () => {
    const [setup, main, ...rest] = quickStart(readme);
    expect(rest).toEqual([]);
    expect(setup).toBe('npm ci && npm link');
    expect(main).toMatch(/^twl ticket create "[^"]+" && twl ticket resolve last; twl ticket show last$/);
  });

  it('--help examples run twl itself', () => {
    const manifest = JSON.parse(read('oclif.manifest.json')) as { commands: Record<string, { examples?: unknown[] }> };
    for (const [id, command] of Object.entries(manifest.commands)) {
      for (const example of command.examples ?? []) {
        const text = typeof example === 'string' ? example : (example as { command: string }).command;
        expect(text, id).toContain('<%= config.bin %> ');
        expect(text, id).not.toMatch(/npx/);
      }
    }
    const rootHelp = (pkg as unknown as { oclif: { description: string } }).oclif.description;
    const examples = rootHelp.split('\n').filter((line) => line.trim().startsWith('$'));
    expect(examples.length).toBeGreaterThan(0);
    for (const line of examples) expect(line.trim()).toMatch(/^\$ twl /);
  });
});
