import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { POSTGRES_URL, envelope, exitsWithin, hasPostgres, tempHome, twl } from '../helpers.js';

type Created = { id: string; dir: string; kind: string; target: string; files: Array<{ name: string }>; tables: Record<string, number> };

function corrupt(file: string): void {
  const bytes = readFileSync(file);
  const at = Math.floor(bytes.length / 2);
  bytes[at] = bytes[at]! ^ 0xff;
  writeFileSync(file, bytes);
}

describe('twl backup on the embedded store', () => {
  it('creates and verifies a backup while the background host serves the store, restores it (the host hands the store over), and a corrupted one fails verify', async () => {
    const { home, cleanup } = tempHome('twl-backup-e2e-');
    try {
      // The first command starts the background store host (store.autoHost): the backup goes through its socket.
      expect((await twl(['ticket', 'create', 'Application ne répond plus depuis 2h'], { home })).exitCode).toBe(0);
      const created = await twl(['backup', 'create', '--json'], { home, timeout: 120_000 });
      expect(created.exitCode, created.stderr).toBe(0);
      const backup = envelope(created.stdout).result as Created;
      expect(backup).toMatchObject({ kind: 'embedded', target: 'store', tables: { 'public.twl_tickets': 1 } });

      const verified = await twl(['backup', 'verify', '--id', backup.id], { home, timeout: 120_000 });
      expect(verified.exitCode, verified.stderr).toBe(0);
      expect(verified.stdout).toMatch(new RegExp(`Backup ${backup.id} \\(embedded, store\\) is good`));

      const listed = await twl(['backup', 'list'], { home });
      expect(listed.stdout).toMatch(new RegExp(`${backup.id}\\s+embedded\\s+store\\s+.*ok `));

      // twl's own background host holds the store: the restore asks it to hand the store over (it refused before).
      const hostPid = (JSON.parse(readFileSync(path.join(home, 'store.owner.json'), 'utf8')) as { pid: number }).pid;
      expect((await twl(['ticket', 'create', 'Written after the backup'], { home })).exitCode).toBe(0);
      const restored = await twl(['backup', 'restore', '--id', backup.id, '--yes', '--json'], { home, timeout: 120_000 });
      expect(restored.exitCode, restored.stderr).toBe(0);
      expect(envelope(restored.stdout).result).toMatchObject({ id: backup.id, kind: 'embedded' });
      // The host hands the store over, then exits (reparented to PID 1, it may linger as a zombie: gone all the same).
      expect(await exitsWithin(hostPid)).toBe(true);
      const tickets = await twl(['ticket', 'list', '--json'], { home });
      expect(JSON.stringify(envelope(tickets.stdout).result)).not.toMatch(/Written after the backup/);

      corrupt(path.join(backup.dir, 'store.sql'));
      const bad = await twl(['backup', 'verify', '--id', backup.id, '--json'], { home, timeout: 120_000 });
      expect(bad.exitCode).toBe(1);
      expect(envelope(bad.stdout).error).toMatchObject({ code: 'TWL_BACKUP_CORRUPT', message: expect.stringMatching(/Checksum mismatch for .*store\.sql/) });
    } finally {
      cleanup();
    }
  });

  it('restores with --yes when no process holds the store, refuses without it, and prunes', async () => {
    const { home, cleanup } = tempHome('twl-restore-e2e-');
    const env = { TWL_STORE_AUTO_HOST: 'off' };
    try {
      await twl(['ticket', 'create', 'first'], { home, env });
      const backup = envelope((await twl(['backup', 'create', '--json'], { home, env, timeout: 120_000 })).stdout).result as Created;
      await twl(['ticket', 'create', 'second'], { home, env });

      const refused = await twl(['backup', 'restore', '--id', backup.id], { home, env });
      expect(refused.exitCode).toBe(4);
      expect(refused.stderr).toMatch(/needs approval/);

      const restored = await twl(['backup', 'restore', '--id', 'latest', '--yes', '--json'], { home, env, timeout: 120_000 });
      expect(restored.exitCode, restored.stderr).toBe(0);
      expect(envelope(restored.stdout).result).toMatchObject({ id: backup.id, kind: 'embedded', previous: null });
      const tickets = envelope((await twl(['ticket', 'list', '--json'], { home, env })).stdout).result as { tickets: Array<{ title: string }> };
      expect(tickets.tickets.map((t) => t.title)).toEqual(['first']);

      await twl(['backup', 'create'], { home, env, timeout: 120_000 });
      const dry = await twl(['backup', 'prune', '--keep-last', '1', '--dry-run'], { home, env });
      expect(dry.exitCode).toBe(0);
      expect(dry.stdout).toMatch(/Would delete 1 backup/);
      const pruned = envelope((await twl(['backup', 'prune', '--keep-last', '1', '--json'], { home, env })).stdout).result as { deleted: Array<{ id: string }> };
      expect(pruned.deleted.map((b) => b.id)).toEqual([backup.id]);
      const none = await twl(['backup', 'prune'], { home, env });
      expect(none.exitCode).toBe(2);
      expect(none.stderr).toMatch(/--keep-last/);
    } finally {
      cleanup();
    }
  });
});

describe.skipIf(!hasPostgres)('twl backup on PostgreSQL', () => {
  const database = `twl_bk_e2e_${randomBytes(4).toString('hex')}`;
  const url = (() => {
    const u = new URL(POSTGRES_URL);
    u.password = 'e2e-sekret';
    u.pathname = `/${database}`;
    return u.toString();
  })();
  let home: string;
  let cleanup: () => void;
  const sql = async (text: string, target = POSTGRES_URL) => {
    const { default: pg } = await import('pg');
    const client = new pg.Client({ connectionString: target });
    await client.connect();
    try {
      return (await client.query(text)).rows;
    } finally {
      await client.end();
    }
  };

  beforeAll(async () => {
    ({ home, cleanup } = tempHome('twl-backup-pg-e2e-'));
    await sql(`CREATE DATABASE ${database}`);
    await sql("CREATE TABLE orders (id serial PRIMARY KEY, label text); INSERT INTO orders (label) SELECT 'o' || g FROM generate_series(1, 25) g", url);
    writeFileSync(path.join(home, '.twlrc.json'), JSON.stringify({ database: { targets: { billing: { url } } } }));
  });
  afterAll(async () => {
    await sql(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`).catch(() => undefined);
    cleanup?.();
  });

  it('creates with pg_dump, verifies in a scratch database, and fails verify on a corrupted dump; no password anywhere', async () => {
    const created = await twl(['backup', 'create', '--target', 'billing', '--json'], { home, timeout: 120_000 });
    expect(created.exitCode, created.stderr).toBe(0);
    const backup = envelope(created.stdout).result as Created;
    expect(backup).toMatchObject({ kind: 'postgres', target: 'billing', tables: { 'public.orders': 25 } });

    const verified = await twl(['backup', 'verify', '--target', 'billing'], { home, timeout: 120_000 });
    expect(verified.exitCode, verified.stderr).toBe(0);
    expect(verified.stdout).toMatch(/is good/);
    expect(verified.stdout).toMatch(/public\.orders\s+25/);

    const dump = path.join(backup.dir, 'billing.dump');
    corrupt(dump);
    const bad = await twl(['backup', 'verify', '--target', 'billing'], { home, timeout: 120_000 });
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toMatch(/TWL_BACKUP_CORRUPT.*billing\.dump/s);

    for (const out of [created, verified, bad]) expect(out.stdout + out.stderr).not.toContain('e2e-sekret');
  });
});
