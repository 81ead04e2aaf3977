import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { invoke } from '../../src/ops/invoke.js';
import createOp from '../../src/ops/backup/create.js';
import listOp from '../../src/ops/backup/list.js';
import pruneOp from '../../src/ops/backup/prune.js';
import restoreOp from '../../src/ops/backup/restore.js';
import verifyOp from '../../src/ops/backup/verify.js';
import ticketCreateOp from '../../src/ops/ticket/create.js';
import ticketListOp from '../../src/ops/ticket/list.js';
import cacheSetOp from '../../src/ops/cache/set.js';
import type { ConfigInput } from '../../src/runtime/config.js';
import type { Runtime } from '../../src/runtime/context.js';
import { openHostedStore } from '../../src/store/open.js';
import { POSTGRES_URL, hasPostgres, loadedFor, quietLogger, tempHome, testRuntime } from '../helpers.js';

/** Flips one byte in the middle of a file. */
function corrupt(file: string): void {
  const bytes = readFileSync(file);
  const at = Math.floor(bytes.length / 2);
  bytes[at] = bytes[at]! ^ 0xff;
  writeFileSync(file, bytes);
}

const dumpOf = (dir: string) => path.join(dir, readdirSync(dir).find((f) => f.endsWith('.sql') || f.endsWith('.dump'))!);

/** Runs fn with a runtime that is closed afterwards (the embedded store is released). */
async function withRuntime<T>(home: string, config: ConfigInput, fn: (rt: Runtime) => Promise<T>): Promise<T> {
  const rt = testRuntime(home, config);
  try {
    return await fn(rt);
  } finally {
    await rt.close();
  }
}

describe('backups of the embedded store', () => {
  let home: string;
  let cleanup: () => void;
  const config: ConfigInput = { store: { lockTimeout: '2s' } };
  const ticketCount = (rt: Runtime) => invoke(ticketListOp, rt, { limit: 100 }).then((r) => r.tickets.length);

  beforeAll(async () => {
    ({ home, cleanup } = tempHome('twl-backup-'));
    await withRuntime(home, config, async (rt) => {
      await invoke(ticketCreateOp, rt, { text: 'Application ne répond plus depuis 2h' });
      await invoke(ticketCreateOp, rt, { text: "L'imprimante du 2e étage est en panne" });
      await invoke(cacheSetOp, rt, { key: 'greeting', value: 'bonjour' });
    });
  });
  afterAll(() => cleanup());

  it('creates a backup with a manifest, sha256 per file and row counts, then verifies it in memory', async () => {
    await withRuntime(home, config, async (rt) => {
      const created = await invoke(createOp, rt, {});
      expect(created).toMatchObject({ kind: 'embedded', target: 'store', configCopied: false });
      expect(created.id).toMatch(/^\d{8}T\d{9}Z-store-[0-9a-f]{4}$/);
      expect(created.tables).toMatchObject({ 'public.twl_tickets': 2, 'public.twl_cache': 1, 'public.twl_cache_stats': 1 });
      expect(created.files).toEqual([expect.objectContaining({ name: 'store.sql', role: 'dump', sha256: expect.stringMatching(/^[0-9a-f]{64}$/) })]);
      const manifest = JSON.parse(readFileSync(path.join(created.dir, 'manifest.json'), 'utf8'));
      expect(manifest).toMatchObject({ id: created.id, kind: 'embedded', target: 'store', tables: created.tables, verified: null });
      expect(readFileSync(path.join(created.dir, 'store.sql'), 'utf8')).toMatch(/INSERT INTO public\.twl_tickets/);

      const verified = await invoke(verifyOp, rt, { id: created.id });
      expect(verified).toMatchObject({ id: created.id, checksums: [{ file: 'store.sql', ok: true }], restoredInto: 'an in-memory PGlite' });
      expect(verified.tables.length).toBe(Object.keys(created.tables).length);
      expect(verified.tables.every((t: { ok: boolean }) => t.ok)).toBe(true);

      const listed = await invoke(listOp, rt, {});
      expect(listed.backups[0]).toMatchObject({ id: created.id, kind: 'embedded', target: 'store', verified: { ok: true } });
    });
  });

  it('backs up through the socket while another process hosts the store', async () => {
    const host = await openHostedStore(loadedFor(home, config), quietLogger(), 'test host');
    try {
      await withRuntime(home, config, async (rt) => {
        const created = await invoke(createOp, rt, {});
        expect(created.tables['public.twl_tickets']).toBe(2);
        expect((await invoke(verifyOp, rt, {})).id).toBe(created.id);
      });
    } finally {
      await host.close();
    }
  });

  it('fails verify with TWL_BACKUP_CORRUPT naming the file when a byte of the dump changed', async () => {
    await withRuntime(home, config, async (rt) => {
      const created = await invoke(createOp, rt, {});
      corrupt(dumpOf(created.dir));
      const err = await invoke(verifyOp, rt, { id: created.id }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'TWL_BACKUP_CORRUPT', message: expect.stringMatching(/Checksum mismatch for .*store\.sql/) });
      const listed = await invoke(listOp, rt, {});
      expect(listed.backups.find((b: { id: string }) => b.id === created.id)?.verified).toMatchObject({ ok: false, error: expect.stringMatching(/store\.sql/) });
      // A corrupt backup is never restored.
      await expect(invoke(restoreOp, rt, { id: created.id }, { ask: async () => true })).rejects.toMatchObject({ code: 'TWL_BACKUP_CORRUPT' });
    });
  });

  it('restores only with approval, only when nobody holds the store, and brings the data back', async () => {
    const good = await withRuntime(home, config, (rt) => invoke(createOp, rt, {}));
    await withRuntime(home, config, (rt) => invoke(ticketCreateOp, rt, { text: 'Created after the backup' }));
    await withRuntime(home, config, async (rt) => {
      expect(await ticketCount(rt)).toBe(3);
    });
    // No one to approve: refused before anything happens.
    await withRuntime(home, config, async (rt) => {
      await expect(invoke(restoreOp, rt, { id: good.id })).rejects.toMatchObject({ code: 'TWL_APPROVAL_REQUIRED', message: expect.stringMatching(/needs approval/) });
    });
    // Held by another runtime: refused, saying who holds it.
    const holder = testRuntime(home, config);
    try {
      await holder.store();
      await withRuntime(home, config, async (rt) => {
        await expect(invoke(restoreOp, rt, { id: good.id }, { ask: async () => true })).rejects.toMatchObject({ code: 'TWL_STORE_BUSY', message: expect.stringMatching(/in use by pid/) });
      });
    } finally {
      await holder.close();
    }
    const questions: string[] = [];
    await withRuntime(home, config, async (rt) => {
      const restored = await invoke(restoreOp, rt, { id: good.id }, { ask: async (q) => (questions.push(q), true) });
      expect(restored).toMatchObject({ id: good.id, kind: 'embedded', previous: null });
      expect(restored.tables.every((t: { ok: boolean }) => t.ok)).toBe(true);
    });
    expect(questions).toEqual([expect.stringMatching(/Restore a backup/)]);
    await withRuntime(home, config, async (rt) => {
      expect(await ticketCount(rt)).toBe(2);
      // The identity sequence came back too: the next ticket takes the next id after the restored ones.
      const next = await invoke(ticketCreateOp, rt, { text: 'After the restore' });
      expect(next.id).toBeGreaterThan(2);
    });
    expect(readdirSync(home).filter((f) => f.startsWith('store.'))).toEqual(expect.not.arrayContaining([expect.stringMatching(/restore-/)]));
  });

  it('prunes by keepLast and keepDays, never the newest, with a dry run first', async () => {
    await withRuntime(home, config, async (rt) => {
      const before = (await invoke(listOp, rt, { target: 'store' })).backups;
      expect(before.length).toBeGreaterThanOrEqual(4);
      const dry = await invoke(pruneOp, rt, { keep_last: 2, dry_run: true });
      expect(dry).toMatchObject({ dryRun: true, keepLast: 2, keepDays: null });
      expect(dry.kept.map((b: { id: string }) => b.id)).toEqual(before.slice(0, 2).map((b: { id: string }) => b.id));
      expect(dry.deleted.length).toBe(before.length - 2);
      expect((await invoke(listOp, rt, {})).backups.length).toBe(before.length);

      // Everything is younger than a day: keepDays keeps all of it.
      expect((await invoke(pruneOp, rt, { keep_days: 1 })).deleted).toEqual([]);
      await expect(invoke(pruneOp, rt, {})).rejects.toMatchObject({ code: 'TWL_INPUT_INVALID' });

      const pruned = await invoke(pruneOp, rt, { keep_last: 1 });
      expect(pruned.kept.map((b: { id: string }) => b.id)).toEqual([before[0]!.id]);
      expect(pruned.freedBytes).toBeGreaterThan(0);
      for (const b of pruned.deleted) expect(existsSync(b.dir)).toBe(false);
      expect((await invoke(listOp, rt, {})).backups.map((b: { id: string }) => b.id)).toEqual([before[0]!.id]);
    });
    // From the configuration, too.
    await withRuntime(home, { ...config, backup: { keepLast: 1 } }, async (rt) => {
      expect((await invoke(pruneOp, rt, {})).deleted).toEqual([]);
    });
  });

  it('refuses an unknown target and an unknown backup', async () => {
    await withRuntime(home, config, async (rt) => {
      await expect(invoke(createOp, rt, { target: 'nope' })).rejects.toMatchObject({ code: 'TWL_TARGET_UNKNOWN' });
      await expect(invoke(verifyOp, rt, { id: '20200101T000000000Z-store-abcd' })).rejects.toMatchObject({ code: 'TWL_PATH_NOT_FOUND' });
      await expect(invoke(verifyOp, rt, { id: '../etc' })).rejects.toMatchObject({ code: 'TWL_INPUT_INVALID' });
    });
  });

  it("backs up a store that holds the job queue's schema, leaving that schema out and saying so", async () => {
    await withRuntime(home, config, async (rt) => {
      // pg-boss's own schema and one queue's table, as `twl task`/`twl worker` leave them in the store.
      const { getConstructionPlans } = await import('pg-boss');
      const store = await rt.store();
      await store.exec(getConstructionPlans('pgboss'));
      await store.query(`SELECT pgboss.create_queue('twl-tasks', '{"policy":"standard"}'::jsonb)`);
      const warnings: string[] = [];
      const created = await invoke(createOp, rt, {}, { warn: (m) => warnings.push(m) });
      expect(Object.keys(created.tables).filter((t) => t.startsWith('pgboss.'))).toEqual([]);
      expect(created.tables).toMatchObject({ 'public.twl_tickets': expect.any(Number) });
      expect(warnings).toEqual([expect.stringMatching(/job queue \(schema pgboss\) is not in embedded backups/)]);
      expect((await invoke(verifyOp, rt, { id: created.id })).tables.every((t: { ok: boolean }) => t.ok)).toBe(true);
    });
  });
});

describe.skipIf(!hasPostgres)('backups of a PostgreSQL target', () => {
  const database = `twl_bk_test_${randomBytes(4).toString('hex')}`;
  // The password is never needed here (trust auth), but must never show up anywhere either.
  const url = (() => {
    const u = new URL(POSTGRES_URL);
    u.password = 'sekret-pw';
    u.pathname = `/${database}`;
    return u.toString();
  })();
  let home: string;
  let cleanup: () => void;
  let runtime: Runtime;
  const admin = async <T>(sql: string, target = POSTGRES_URL): Promise<T[]> => {
    const { default: pg } = await import('pg');
    const client = new pg.Client({ connectionString: target });
    await client.connect();
    try {
      return (await client.query(sql)).rows as T[];
    } finally {
      await client.end();
    }
  };
  const configFile = () => path.join(home, 'twl.config.json');

  beforeAll(async () => {
    ({ home, cleanup } = tempHome('twl-backup-pg-'));
    await admin(`CREATE DATABASE ${database}`);
    await admin(
      `CREATE TABLE customers (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL, meta jsonb);
       CREATE TABLE invoices (id serial PRIMARY KEY, customer_id bigint NOT NULL REFERENCES customers (id), amount numeric(12,2) NOT NULL);
       INSERT INTO customers (name, meta) VALUES ('Acme', '{"tier": "gold"}'), ('Globex', NULL), ('Initech', '{"tier": "silver"}');
       INSERT INTO invoices (customer_id, amount) SELECT 1 + (g % 3), g * 1.5 FROM generate_series(1, 50) g;`,
      url,
    );
    const config = { database: { targets: { billing: { url } } }, store: { lockTimeout: '2s' } };
    writeFileSync(configFile(), JSON.stringify(config));
    const loaded = loadedFor(home, config);
    const { Runtime } = await import('../../src/runtime/context.js');
    runtime = new Runtime({ ...loaded, file: configFile() }, quietLogger(), { actor: 'test' });
  });
  afterAll(async () => {
    await runtime?.close();
    await admin(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`).catch(() => undefined);
    cleanup?.();
  });

  const scratchDatabases = () => admin<{ datname: string }>("SELECT datname FROM pg_database WHERE datname LIKE 'twl_verify_%'");

  it('creates a custom-format dump with the config copied, and verifies it in a scratch database that is dropped', async () => {
    const before = (await scratchDatabases()).length;
    const created = await invoke(createOp, runtime, { target: 'billing' });
    expect(created).toMatchObject({ kind: 'postgres', target: 'billing', configCopied: true, tables: { 'public.customers': 3, 'public.invoices': 50 } });
    expect(readFileSync(path.join(created.dir, 'billing.dump')).subarray(0, 5).toString()).toBe('PGDMP');
    const manifest = readFileSync(path.join(created.dir, 'manifest.json'), 'utf8');
    expect(JSON.parse(manifest)).toMatchObject({ source: expect.stringContaining('***'), dump: { format: 'pg_dump-custom', tool: expect.stringMatching(/pg_dump/) }, config: { file: 'config/twl.config.json' } });
    expect(JSON.stringify(created) + manifest).not.toContain('sekret-pw');

    const verified = await invoke(verifyOp, runtime, { target: 'billing' });
    expect(verified).toMatchObject({ id: created.id, restoredInto: expect.stringMatching(/^scratch database twl_verify_\w+ \(dropped\)$/) });
    expect(verified.tables).toEqual([
      { table: 'public.customers', expected: 3, actual: 3, ok: true },
      { table: 'public.invoices', expected: 50, actual: 50, ok: true },
    ]);
    expect((await scratchDatabases()).length).toBe(before);
  });

  it('fails verify with TWL_BACKUP_CORRUPT naming the file when a byte of the dump changed, without a scratch database', async () => {
    const created = await invoke(createOp, runtime, { target: 'billing' });
    corrupt(dumpOf(created.dir));
    const before = (await scratchDatabases()).length;
    const err = await invoke(verifyOp, runtime, { id: created.id }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'TWL_BACKUP_CORRUPT', message: expect.stringMatching(/Checksum mismatch for .*billing\.dump/) });
    expect((await scratchDatabases()).length).toBe(before);
    const { rmSync } = await import('node:fs');
    rmSync(created.dir, { recursive: true });
  });

  it('restores with pg_restore --clean only when approved, and the rows come back', async () => {
    const good = (await invoke(listOp, runtime, { target: 'billing' })).backups.find((b: { verified: { ok: boolean } | null }) => b.verified?.ok)!;
    await admin(`DELETE FROM invoices WHERE id > 10; INSERT INTO customers (name) VALUES ('Hooli')`, url);
    await expect(invoke(restoreOp, runtime, { id: good.id })).rejects.toMatchObject({ message: expect.stringMatching(/needs approval/) });
    expect((await admin<{ n: string }>('SELECT count(*) AS n FROM invoices', url))[0]!.n).toBe('10');

    const restored = await invoke(restoreOp, runtime, { id: good.id }, { ask: async () => true });
    expect(restored).toMatchObject({ id: good.id, kind: 'postgres', target: 'billing', into: expect.stringContaining('***') });
    expect(JSON.stringify(restored)).not.toContain('sekret-pw');
    expect(restored.tables.every((t: { ok: boolean }) => t.ok)).toBe(true);
    expect(await admin('SELECT name FROM customers ORDER BY id', url)).toEqual([{ name: 'Acme' }, { name: 'Globex' }, { name: 'Initech' }]);
    expect((await admin<{ n: string }>('SELECT count(*) AS n FROM invoices', url))[0]!.n).toBe('50');
  });

  it('keeps the newest backup of each target when pruning', async () => {
    await invoke(createOp, runtime, { target: 'billing' });
    const pruned = await invoke(pruneOp, runtime, { keep_last: 1, target: 'billing' });
    expect(pruned.kept).toHaveLength(1);
    expect((await invoke(listOp, runtime, { target: 'billing' })).backups).toHaveLength(1);
  });
});
