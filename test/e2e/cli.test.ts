import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { POSTGRES_URL, REDIS_URL, envelope, hasPostgres, hasRedis, tempHome, twl } from '../helpers.js';

let home: string;
let cleanup: () => void;
beforeAll(() => ({ home, cleanup } = tempHome('twl-e2e-')));
afterAll(() => cleanup());

describe('twl as a newcomer meets it', () => {
  it('--help lists the topics and examples without loading the store', async () => {
    const r = await twl(['--help'], { home });
    expect(r.exitCode).toBe(0);
    for (const topic of ['cache', 'config', 'db', 'serve']) expect(r.stdout).toMatch(new RegExp(`^\\s+${topic}\\s`, 'm'));
    expect(r.stdout).toContain('$ twl cache set greeting hello --ttl 60');
    expect(existsSync(path.join(home, 'store'))).toBe(false);
  });

  it('--version prints the npm package (twisterlab), its version and the runtime, as oclif\'s own version command does', async () => {
    const r = await twl(['--version'], { home });
    expect(r.stdout.trim()).toBe(`twisterlab/${JSON.parse(readFileSync('package.json', 'utf8')).version} ${process.platform}-${process.arch} node-${process.version}`);
    const oclif = await twl(['version'], { home });
    expect(oclif.stdout.trim()).toBe(r.stdout.trim());
  });

  it('every command has help with an example', async () => {
    const manifest = JSON.parse(readFileSync('oclif.manifest.json', 'utf8')) as { commands: Record<string, { examples?: string[] }> };
    for (const [id, command] of Object.entries(manifest.commands)) expect(command.examples?.length, id).toBeGreaterThan(0);
    const r = await twl(['db', 'query', '--help'], { home });
    expect(r.stdout).toContain('EXAMPLES');
    expect(r.stdout).toContain('--timeout');
  });

  it('suggests the command meant by a typo', async () => {
    const r = await twl(['cache', 'gett', 'x'], { home });
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toMatch(/cache get/);
  });
});

describe('cache across processes (embedded store)', () => {
  it('a value set in one process is read by the next, inside the envelope', async () => {
    const set = await twl(['cache', 'set', 'greeting', 'hello', '--ttl', '60'], { home });
    expect(set.exitCode, set.stderr).toBe(0);
    expect(set.stdout).toMatch(/stored greeting/);
    const get = await twl(['cache', 'get', 'greeting', '--json'], { home });
    expect(get.exitCode).toBe(0);
    const body = envelope(get.stdout);
    expect(body).toMatchObject({ status: 0, result: { key: 'greeting', found: true, value: 'hello', backend: 'store' }, warnings: [] });
    expect(body.result!.ttl).toBeGreaterThan(50);
    // --json output carries no logs: stdout is exactly one JSON document.
    expect(get.stdout.trim().startsWith('{')).toBe(true);
  });

  it('a key is gone after its TTL', async () => {
    await twl(['cache', 'set', 'brief', 'x', '--ttl', '1'], { home });
    await sleep(1500);
    const r = await twl(['cache', 'get', 'brief', '--json'], { home });
    expect(envelope(r.stdout).result).toMatchObject({ found: false, value: null });
  });

  it('reads a value from stdin with -', async () => {
    await twl(['cache', 'set', 'piped', '-'], { home, input: 'line one\nline two\n' });
    expect((await twl(['cache', 'get', 'piped'], { home })).stdout).toBe('line one\nline two');
  });

  it('rejects a bad TTL before touching anything', async () => {
    const r = await twl(['cache', 'set', 'k', 'v', '--ttl', 'soon', '--json'], { home });
    expect(r.exitCode).toBe(2);
    expect(envelope(r.stdout).error).toMatchObject({ code: 'TWL_INPUT_INVALID', message: expect.stringMatching(/--ttl "soon"/) });
  });
});

describe.skipIf(!hasRedis)('cache on Redis', () => {
  it('round-trips and expires through TWL_REDIS_URL', async () => {
    const env = { TWL_REDIS_URL: REDIS_URL, TWL_REDIS_PREFIX: `twl-e2e-${process.pid}:` };
    // Read back with a TTL no CLI start-up outlives; expiry on a key of its own.
    expect((await twl(['cache', 'set', 'greeting', 'hello', '--ttl', '10m'], { home, env })).exitCode).toBe(0);
    const read = envelope((await twl(['cache', 'get', 'greeting', '--json'], { home, env })).stdout).result as { ttl: number };
    expect(read).toMatchObject({ found: true, value: 'hello', backend: 'redis' });
    expect(read.ttl).toBeGreaterThan(0);
    expect(read.ttl).toBeLessThanOrEqual(600);
    expect((await twl(['cache', 'set', 'brief', 'gone soon', '--ttl', '1'], { home, env })).exitCode).toBe(0);
    await expect.poll(async () => envelope((await twl(['cache', 'get', 'brief', '--json'], { home, env })).stdout).result, { timeout: 60_000, interval: 200 }).toMatchObject({ found: false, value: null });
    expect((await twl(['cache', 'delete', 'greeting'], { home, env })).exitCode).toBe(0);
  });

  it('fails clearly, without the password, when Redis is unreachable', async () => {
    const r = await twl(['cache', 'get', 'x', '--json'], { home, env: { TWL_REDIS_URL: 'redis://default:hunter2@127.0.0.1:1' } });
    expect(r.exitCode).toBe(6);
    const body = envelope(r.stdout);
    expect(body.error).toMatchObject({ code: 'TWL_CACHE_UNAVAILABLE' });
    expect(r.stdout + r.stderr).not.toContain('hunter2');
  });
});

const databases = [{ name: 'embedded', env: {} as Record<string, string>, available: true }, { name: 'postgres', env: { TWL_DATABASE_URL: POSTGRES_URL }, available: hasPostgres }];

describe.each(databases)('db query safety on $name', ({ env, available }) => {
  it.skipIf(!available)('refuses a write with exit code 4', async () => {
    const r = await twl(['db', 'query', 'delete from pg_class'], { home, env });
    expect(r.exitCode).toBe(4);
    expect(r.stderr).toMatch(/Error \(TWL_SQL_REFUSED\): Refused: this is DELETE/);
    expect(r.stderr).toMatch(/Try: /);
  });

  it.skipIf(!available)('refuses a second statement', async () => {
    const r = await twl(['db', 'query', 'select 1; drop table x', '--json'], { home, env });
    expect(r.exitCode).toBe(4);
    expect(envelope(r.stdout)).toMatchObject({ status: 4, error: { code: 'TWL_SQL_REFUSED', message: expect.stringMatching(/2 statements/) } });
  });

  it.skipIf(!available)('times out in about a second', async () => {
    const started = performance.now();
    const r = await twl(['db', 'query', 'select pg_sleep(10)', '--timeout', '1s', '--json'], { home, env });
    const elapsed = performance.now() - started;
    expect(r.exitCode).toBe(5);
    expect(envelope(r.stdout).error).toMatchObject({ code: 'TWL_TIMEOUT' });
    expect(elapsed).toBeLessThan(8000);
  });

  it.skipIf(!available)('answers a read', async () => {
    const r = await twl(['db', 'query', 'select $1::int + 1 as n', '-p', '41', '--json'], { home, env });
    expect(envelope(r.stdout).result).toMatchObject({ rows: [{ n: 42 }], rowCount: 1 });
  });
});

describe('configuration errors', () => {
  it('a broken .twlrc.yaml fails every command with the file, the key and the expectation', async () => {
    const { home: dir, cleanup: done } = tempHome('twl-badconf-');
    writeFileSync(path.join(dir, '.twlrc.yaml'), 'database:\n  poolSize: "many"\n');
    try {
      for (const args of [['cache', 'get', 'x'], ['db', 'tables'], ['config', 'show'], ['config', 'validate']]) {
        const r = await twl(args, { home: dir });
        expect(r.exitCode, args.join(' ')).toBe(3);
        expect(r.stderr).toContain(path.join(dir, '.twlrc.yaml'));
        expect(r.stderr).toMatch(/database\.poolSize: .*expected number, received string/);
      }
    } finally {
      done();
    }
  });

  it('config init writes a file that validates, and will not overwrite it', async () => {
    const { home: dir, cleanup: done } = tempHome('twl-init-');
    try {
      expect((await twl(['config', 'init'], { home: dir })).exitCode).toBe(0);
      expect((await twl(['config', 'validate', '--json'], { home: dir })).stdout).toContain('"valid": true');
      const again = await twl(['config', 'init'], { home: dir });
      expect(again.exitCode).toBe(4);
      expect(again.stderr).toMatch(/--force/);
    } finally {
      done();
    }
  });

  it('config show hides passwords', async () => {
    const r = await twl(['config', 'show', '--json'], { home, env: { TWL_DATABASE_URL: 'postgres://u:hunter2@127.0.0.1:1/x' } });
    expect(r.stdout).not.toContain('hunter2');
    expect(envelope(r.stdout).result).toMatchObject({ config: { database: { url: 'postgres://u:***@127.0.0.1:1/x' } } });
  });
});
