// The README's Quick start, as a newcomer runs it: a fresh copy of the repository, its set-up
// line (npm ci, then npm link into a private npm prefix) with the system's Node.js first on
// PATH, then its main line from a folder outside the checkout.
import { execFileSync } from 'node:child_process';
import { accessSync, constants, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { quickStart, root } from '../helpers.js';

const [setup, main] = quickStart(readFileSync(path.join(root, 'README.md'), 'utf8'));

/** PATH as the user has it: without the node_modules/.bin folders npm run and vitest put first. */
const userPath = (process.env.PATH ?? '').split(path.delimiter).filter((dir) => dir && !dir.split(path.sep).includes('node_modules'));
const which = (program: string, dirs: string[]) => {
  for (const dir of dirs) {
    const file = path.join(dir, program);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  return undefined;
};
const systemNode = which('node', userPath);
const systemNodeVersion = systemNode ? execFileSync(systemNode, ['-p', 'process.versions.node'], { encoding: 'utf8' }).trim() : undefined;
const tooOld = (version: string) => {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  return major < 22 || (major === 22 && minor < 13);
};

/** This process's environment without what npm run and the test runner add (npm_* would steer the inner npm to this checkout). */
const userEnv = () =>
  Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined && !/^(npm_|TWL_|INIT_CWD$|NODE$|VITEST|NODE_OPTIONS$)/i.test(e[0])));

let dir: string;
let clone: string;
let prefix: string;
let outside: string;
let home: string;
let env: Record<string, string>;
let installLog = '';

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'twl-install-'));
  clone = path.join(dir, 'twl');
  prefix = path.join(dir, 'npm-prefix');
  outside = path.join(dir, 'somewhere-else');
  home = path.join(dir, 'home');
  for (const d of [clone, prefix, outside, home]) mkdirSync(d);
  // What a fresh clone holds: the files git tracks (and new ones it would track), not
  // node_modules or dist. Copied from the working tree, so uncommitted work is tested too;
  // in CI, which runs in a fresh clone, this is exactly HEAD.
  const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: root, encoding: 'utf8' }).split('\0').filter(Boolean);
  for (const file of files) {
    if (!existsSync(path.join(root, file))) continue; // deleted in the working tree
    mkdirSync(path.dirname(path.join(clone, file)), { recursive: true });
    copyFileSync(path.join(root, file), path.join(clone, file));
  }
  env = { ...userEnv(), PATH: [path.join(prefix, 'bin'), ...userPath].join(path.delimiter), npm_config_prefix: prefix, NO_COLOR: '1' };
  // The lockfile pins every version and its integrity hash, so npm's cache serves the same bytes
  // as the registry: skip only the metadata round trips (and the audit), not the install.
  const quick = { npm_config_prefer_offline: 'true', npm_config_audit: 'false', npm_config_fund: 'false' };
  // The README's set-up line, as written, with the user's PATH (the system's node first).
  const started = Date.now();
  const r = await execa('/bin/sh', ['-c', setup!], { cwd: clone, env: { ...env, ...quick }, extendEnv: false, reject: false, all: true, timeout: 600_000 });
  installLog = r.all ?? '';
  console.info(`[install] ${setup} took ${Math.round((Date.now() - started) / 1000)} s`);
  if (r.exitCode !== 0) throw new Error(`The README's set-up line failed (exit ${r.exitCode}):\n${installLog.slice(-4000)}`);
}, 660_000);
// The clone's node_modules is large: removing it takes a while on a busy machine.
afterAll(() => rmSync(dir, { recursive: true, force: true }), 300_000);

/**
 * twl as the user runs it after the set-up: from the folder outside the checkout, with a private
 * data dir and nothing else set. The first command in a fresh data dir starts the background
 * store host and waits for it as long as it runs (on a loaded machine, creating the store takes
 * far longer than store.lockTimeout: the README's line must work all the same).
 */
const run = (command: string, extra: Record<string, string> = {}) =>
  execa('/bin/sh', ['-c', command], { cwd: outside, env: { ...env, TWL_HOME: home, HOME: home, XDG_DATA_HOME: path.join(home, '.data'), XDG_CONFIG_HOME: path.join(home, '.config'), ...extra }, extendEnv: false, reject: false, timeout: 240_000 });

describe("the README's Quick start in a fresh clone", () => {
  it('has the system Node.js to start from, as a fresh machine does', () => {
    expect(systemNode, `no node on the user's PATH (${userPath.join(':')})`).toBeDefined();
  });

  it('links a twl command into npm\'s global bin folder, pointing into the clone', () => {
    const link = path.join(prefix, 'bin', 'twl');
    expect(existsSync(link)).toBe(true);
    expect(realpathSync(link)).toBe(path.join(realpathSync(clone), 'bin', 'twl'));
  });

  it("runs the README's main line from a folder outside the checkout: a ticket created, resolved or escalated, shown", async () => {
    const r = await run(main!);
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toContain('Application ne répond plus depuis 2h');
    const shown = await run('twl ticket show last --json');
    expect(shown.exitCode, shown.stderr).toBe(0);
    const { ticket, timeline } = JSON.parse(shown.stdout).result as { ticket: { id: number; text: string; status: string }; timeline: { kind: string }[] };
    expect(ticket).toMatchObject({ id: 1, text: expect.stringContaining('Application ne répond plus depuis 2h') });
    expect(['resolved', 'escalated']).toContain(ticket.status);
    expect(timeline.map((e) => e.kind)).toEqual(expect.arrayContaining(['created', 'sentiment', 'classification', 'plan', ticket.status === 'resolved' ? 'resolution' : 'escalation']));
    // The data went to the private data dir, not into the checkout or the current folder.
    expect(existsSync(path.join(home, 'store'))).toBe(true);
  }, 300_000);

  it('runs on the pinned Node.js 24 from the clone, whatever node comes first on PATH', async () => {
    const r = await run('node --version; twl --version');
    const [first, version] = r.stdout.trim().split('\n');
    expect(first).toBe(`v${systemNodeVersion}`);
    const pinned = execFileSync(path.join(clone, 'node_modules', '.bin', 'node'), ['--version'], { encoding: 'utf8' }).trim();
    expect(pinned).toMatch(/^v24\./);
    expect(version).toBe(`twisterlab/${JSON.parse(readFileSync(path.join(clone, 'package.json'), 'utf8')).version} ${process.platform}-${process.arch} node-${pinned}`);
  });

  it('without the pinned runtime, runs on the node on PATH or says clearly why it cannot', async () => {
    const pinned = path.join(clone, 'node_modules', '.bin', 'node');
    renameSync(pinned, `${pinned}.away`);
    try {
      const r = await run('twl --version');
      if (tooOld(systemNodeVersion!)) {
        expect(r.exitCode).toBe(1);
        expect(r.stderr).toContain(`twl needs Node.js >= 22.13, and this is v${systemNodeVersion}`);
        expect(r.stderr).toContain('npm ci');
      } else {
        expect(r.exitCode).toBe(0);
        expect(r.stdout).toContain(`node-v${systemNodeVersion}`);
      }
      // No node on PATH at all (only the tools the launcher uses).
      const tools = path.join(dir, 'tools');
      mkdirSync(tools, { recursive: true });
      symlinkSync(which('readlink', userPath)!, path.join(tools, 'readlink'));
      const none = await run('twl --version', { PATH: [path.join(prefix, 'bin'), tools].join(path.delimiter) });
      expect(none.exitCode).toBe(1);
      expect(none.stderr).toContain('twl needs Node.js >= 22.13: none is on PATH');
    } finally {
      renameSync(`${pinned}.away`, pinned);
    }
  });
});
