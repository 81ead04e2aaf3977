import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { ExitCode, errorCatalog } from '../../src/runtime/errors.js';
import { envelope, root, tempHome, twl } from '../helpers.js';

const { home, cleanup } = tempHome('twl-exit-');
afterAll(() => cleanup());

describe('one envelope and one exit code for every error, parse errors included', () => {
  it('a flag value outside its options is bad input (exit 2, TWL_INPUT_INVALID), with or without --json', async () => {
    const json = await twl(['ticket', 'list', '--status', 'bogus', '--json'], { home });
    expect(json.exitCode).toBe(2);
    expect(envelope(json.stdout)).toMatchObject({
      status: 2,
      error: { code: 'TWL_INPUT_INVALID', exitCode: 2, message: expect.stringMatching(/^Expected --status=bogus to be one of: new, /), actions: ['Run `twl ticket list --help` to see its flags and examples.'] },
    });
    expect(json.stdout).not.toMatch(/report it|TWL_UNEXPECTED/);
    const human = await twl(['ticket', 'list', '--status', 'bogus'], { home });
    expect(human.exitCode).toBe(2);
    expect(human.stderr).toMatch(/^Error \(TWL_INPUT_INVALID\): Expected --status=bogus to be one of/);
    expect(human.stderr).toMatch(/Try: Run `twl ticket list --help`/);
  });

  it('a value of the wrong type, an unknown flag and a missing argument answer the same way', async () => {
    for (const args of [
      ['ticket', 'list', '--limit', 'abc'],
      ['ticket', 'list', '--bogus'],
      ['ticket', 'show'],
    ]) {
      const r = await twl([...args, '--json'], { home });
      expect(r.exitCode, args.join(' ')).toBe(2);
      expect(envelope(r.stdout).error, args.join(' ')).toMatchObject({ code: 'TWL_INPUT_INVALID', exitCode: 2 });
      expect(envelope(r.stdout).error!.message, args.join(' ')).not.toMatch(/\n/);
    }
  });

  it('an unknown command is bad input too, with the closest command suggested whether or not on a terminal', async () => {
    const json = await twl(['ticket', 'lst', '--json'], { home });
    expect(json.exitCode).toBe(2);
    expect(envelope(json.stdout)).toMatchObject({ status: 2, error: { code: 'TWL_COMMAND_UNKNOWN', exitCode: 2, message: '"ticket lst" is not a twl command. Did you mean "ticket list"?' } });
    const human = await twl(['cache', 'gett', 'greeting'], { home });
    expect(human.exitCode).toBe(2);
    expect(human.stdout).toBe('');
    expect(human.stderr).toMatch(/^Error \(TWL_COMMAND_UNKNOWN\): "cache gett" is not a twl command\. Did you mean "cache get"\?/);
    const far = await twl(['frobnicate', '--json'], { home });
    expect(far.exitCode).toBe(2);
    expect(envelope(far.stdout).error).toMatchObject({ code: 'TWL_COMMAND_UNKNOWN', message: '"frobnicate" is not a twl command.' });
  });

  it('--json on a command without JSON output answers the error envelope, saying so', async () => {
    for (const args of [['serve'], ['ticket', 'export']]) {
      const r = await twl([...args, '--json'], { home });
      expect(r.exitCode, args.join(' ')).toBe(2);
      expect(envelope(r.stdout).error).toMatchObject({ code: 'TWL_INPUT_INVALID', message: `\`twl ${args.join(' ')}\` has no --json output.` });
    }
  });
});

describe('distinct exit codes for scripts', () => {
  it('cache get of a missing key exits 7 (not found), an empty stdout, and a hit exits 0', async () => {
    const miss = await twl(['cache', 'get', 'no-such-key'], { home });
    expect(miss.exitCode).toBe(7);
    expect(miss.stdout).toBe('');
    expect(miss.stderr).toMatch(/\(not found\) no-such-key/);
    const json = await twl(['cache', 'get', 'no-such-key', '--json'], { home });
    expect(json.exitCode).toBe(7);
    expect(envelope(json.stdout)).toMatchObject({ status: 7, result: { found: false, value: null } });
    await twl(['cache', 'set', 'empty', ''], { home });
    const hit = await twl(['cache', 'get', 'empty'], { home });
    expect(hit.exitCode, hit.stderr).toBe(0);
  });

  it('maestro orchestrate exits 1 when the ticket is escalated, as ticket resolve does', async () => {
    const id = (envelope((await twl(['ticket', 'create', 'Application ne répond plus depuis 2h', '--json'], { home })).stdout).result as { id: number }).id;
    const r = await twl(['maestro', 'orchestrate', '--ticket', String(id), '--yes'], { home });
    expect(r.stdout).toMatch(new RegExp(`#${id} escalated: `));
    expect(r.exitCode).toBe(1);
    const json = await twl(['maestro', 'orchestrate', '--ticket', String(id), '--yes', '--json'], { home });
    expect(json.exitCode).toBe(1);
    expect(envelope(json.stdout)).toMatchObject({ status: 1, result: { resolution: { outcome: 'escalated' } } });
  });
});

describe("the README's exit-code table", () => {
  const section = readFileSync(`${root}/README.md`, 'utf8').split('### Exit codes')[1]!.split('\n### ')[0]!;
  const documented = new Set([...section.matchAll(/^\| (\d+) \|/gm)].map((m) => Number(m[1])));

  it('lists every exit code an error can have, and no other', () => {
    const used = new Set([0, ...Object.values(ExitCode), ...Object.values(errorCatalog).map((e) => e.exit)]);
    expect([...documented].sort((a, b) => a - b)).toEqual([...used].sort((a, b) => a - b));
  });
});
