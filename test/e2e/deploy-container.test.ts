import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { POSTGRES_URL, REDIS_URL, bin, hasPostgres, hasRedis, tempHome } from '../helpers.js';

// twl as the container image runs it: no configuration file, only environment variables, and a
// HOME on a read-only filesystem (a read-only bind mount in a private mount namespace, as
// `readOnlyRootFilesystem: true` gives a pod). Needs root and unshare(1); under CI=true both are there.

const canUnshare = (() => {
  try {
    execFileSync('unshare', ['-m', 'true'], { stdio: 'ignore' });
    return true;
  } catch {
    if (process.env.CI === 'true') throw new Error('unshare -m (util-linux, as root) is required under CI=true for the read-only HOME test');
    return false;
  }
})();

describe.skipIf(!canUnshare || !hasPostgres || !hasRedis)('container-like start: environment only, read-only HOME', () => {
  let dir: string;
  let cleanup: () => void;
  const secret = 'container-secret-key-do-not-print';
  beforeAll(() => {
    ({ home: dir, cleanup } = tempHome('twl-container-'));
    mkdirSync(path.join(dir, 'home'));
  });
  afterAll(() => cleanup?.());

  /** Runs `twl ARGS` with exactly these variables, HOME mounted read-only. */
  const inContainer = (args: string[], env: Record<string, string>, timeout = 60_000) => {
    const home = path.join(dir, 'home');
    const script = `mount --bind "$H" "$H" && mount -o remount,bind,ro "$H" && cd "$H" && exec "$NODE" "$BIN" "$@"`;
    return execa('unshare', ['-m', 'sh', '-c', script, 'sh', ...args], {
      env: { PATH: '/usr/bin:/bin', HOME: home, H: home, NODE: process.execPath, BIN: bin, ...env },
      extendEnv: false,
      reject: false,
      timeout,
    });
  };

  it('serves with TWL_DATABASE_URL, TWL_REDIS_URL and TWL_SECRET_KEY only, writing nothing, and never prints the secrets', async () => {
    const env = { TWL_DATABASE_URL: POSTGRES_URL, TWL_REDIS_URL: REDIS_URL, TWL_SECRET_KEY: secret };
    const child = inContainer(['serve', '--http', '--port', '0'], env);
    let err = '';
    const url = await new Promise<string>((resolve, reject) => {
      child.stderr!.on('data', (d: Buffer) => {
        err += d.toString();
        const m = /serves MCP at (http:\/\/\S+)\/mcp/.exec(err);
        if (m) resolve(m[1]!);
      });
      void child.then(() => reject(new Error(`twl exited: ${err}`)));
    });
    expect((await fetch(`${url}/health/live`)).status).toBe(200);
    // Keys are required: the store (PostgreSQL) answered the lookup.
    expect((await fetch(`${url}/health`)).status).toBe(401);
    child.kill('SIGTERM');
    const done = await child;
    expect(done.exitCode, done.stderr?.toString()).toBe(0);
    expect(`${done.stdout}${done.stderr}`).not.toContain(secret);
  });

  it('twl worker runs the same way: environment only, read-only HOME, SIGTERM stops it cleanly', async () => {
    const schema = `pgboss_c${process.pid}`;
    const child = inContainer(['worker', '--name', 'container', '--grace', '5s'], { TWL_DATABASE_URL: POSTGRES_URL, TWL_SECRET_KEY: secret, TWL_TASKS_SCHEMA: schema });
    let err = '';
    await new Promise<void>((resolve, reject) => {
      child.stderr!.on('data', (d: Buffer) => {
        err += d.toString();
        if (err.includes('takes runs from')) resolve();
      });
      void child.then(() => reject(new Error(`twl worker exited: ${err}`)));
    });
    child.kill('SIGTERM');
    const done = await child;
    const { default: pg } = await import('pg');
    const client = new pg.Client({ connectionString: POSTGRES_URL });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).finally(() => client.end());
    expect(done.exitCode, done.stderr?.toString()).toBe(0);
    expect(`${done.stdout}${done.stderr}`).not.toContain(secret);
  });

  it('with the embedded store, says which directory it needs to write and how to give it one', async () => {
    const r = await inContainer(['ticket', 'list', '--json'], {});
    expect(r.exitCode).toBe(3);
    const error = (JSON.parse(r.stdout) as { error: { code: string; message: string; actions: string[] } }).error;
    expect(error.code).toBe('TWL_DATA_DIR_UNWRITABLE');
    expect(error.message).toContain(path.join(dir, 'home', '.local', 'share', 'twl'));
    expect(error.actions.join(' ')).toContain('TWL_HOME');
  });

  it('twl backup names the backups directory it cannot write', async () => {
    const r = await inContainer(['backup', 'create', '--json'], { TWL_DATABASE_URL: POSTGRES_URL });
    expect(r.exitCode).toBe(3);
    const error = (JSON.parse(r.stdout) as { error: { code: string; message: string } }).error;
    expect(error.code).toBe('TWL_DATA_DIR_UNWRITABLE');
    expect(error.message).toMatch(/backups/);
  });
});
