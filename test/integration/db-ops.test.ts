import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import describeOp from '../../src/ops/db/describe.js';
import healthOp from '../../src/ops/db/health.js';
import queryOp from '../../src/ops/db/query.js';
import tablesOp from '../../src/ops/db/tables.js';
import { invoke } from '../../src/ops/invoke.js';
import { Runtime } from '../../src/runtime/context.js';
import { POSTGRES_URL, hasPostgres, loadedFor, quietLogger, tempHome } from '../helpers.js';
import { configBackends, unique } from './backends.js';

const setups = configBackends();

describe.each(setups)('database ops on $name', ({ available, config }) => {
  let runtime: Runtime;
  let cleanup: () => void;
  const table = unique('orders').replace('-', '_');

  beforeAll(async () => {
    if (!available) return;
    const temp = tempHome();
    cleanup = temp.cleanup;
    runtime = new Runtime(loadedFor(temp.home, config), quietLogger());
    const store = await runtime.store();
    await store.exec(`CREATE TABLE ${table} (id serial PRIMARY KEY, customer text NOT NULL, total numeric(10,2) DEFAULT 0, placed timestamptz DEFAULT now());
      CREATE INDEX ${table}_customer ON ${table} (customer);
      INSERT INTO ${table} (customer, total) SELECT 'c' || (g % 7), g FROM generate_series(1, 2500) g;`);
  });
  afterAll(async () => {
    if (!available) return;
    await (await runtime.store()).exec(`DROP TABLE IF EXISTS ${table}`);
    await runtime.close();
    cleanup();
  });

  const query = (input: Record<string, unknown>) => invoke(queryOp, runtime, input);

  it.skipIf(!available)('runs a query with bind parameters and typed columns', async () => {
    const r = await query({ sql: `SELECT customer, count(*)::int AS n, sum(total) AS total FROM ${table} WHERE customer = $1 GROUP BY customer`, params: ['c3'] });
    expect(r.kind).toBe('SELECT');
    expect(r.columns).toEqual([
      { name: 'customer', type: 'text' },
      { name: 'n', type: 'integer' },
      { name: 'total', type: 'numeric' },
    ]);
    expect(r.rows).toEqual([{ customer: 'c3', n: 357, total: expect.any(String) }]);
    expect(r.truncated).toBe(false);
  });

  it.skipIf(!available)('stops at the row limit and says so', async () => {
    const warnings: string[] = [];
    const r = await invoke(queryOp, runtime, { sql: `SELECT id FROM ${table} ORDER BY id`, limit: 100 }, { warn: (m) => warnings.push(m) });
    expect(r.rowCount).toBe(100);
    expect(r.truncated).toBe(true);
    expect(r.rows.at(-1)).toEqual({ id: 100 });
    expect(warnings[0]).toMatch(/first 100 rows/);
    const all = await query({ sql: `SELECT id FROM ${table}` });
    expect(all.rowCount).toBe(1000);
  });

  it.skipIf(!available)('refuses writes and changes nothing', async () => {
    const before = await query({ sql: `SELECT count(*)::int AS n FROM ${table}` });
    for (const sql of [`DELETE FROM ${table}`, `SELECT 1; DROP TABLE ${table}`, `WITH d AS (DELETE FROM ${table} RETURNING 1) SELECT count(*) FROM d`, `UPDATE ${table} SET total = 0`]) {
      await expect(query({ sql })).rejects.toMatchObject({ code: 'TWL_SQL_REFUSED', exitCode: 4 });
    }
    expect(await query({ sql: `SELECT count(*)::int AS n FROM ${table}` })).toMatchObject({ rows: before.rows });
  });

  it.skipIf(!available)('times out a slow statement', async () => {
    const started = performance.now();
    await expect(query({ sql: 'SELECT pg_sleep(10)', timeout_ms: 1000 })).rejects.toMatchObject({ code: 'TWL_TIMEOUT', exitCode: 5 });
    expect(performance.now() - started).toBeLessThan(4000);
  });

  it.skipIf(!available)('explains and shows', async () => {
    expect((await query({ sql: `EXPLAIN SELECT * FROM ${table} WHERE customer = 'c1'` })).kind).toBe('EXPLAIN');
    expect((await query({ sql: 'SHOW server_version' })).rows).toHaveLength(1);
  });

  it.skipIf(!available)('lists and describes tables', async () => {
    const tables = await invoke(tablesOp, runtime, { schema: 'public' });
    expect(tables.tables.map((t: { name: string }) => t.name)).toEqual(expect.arrayContaining([table, 'twl_cache', 'twl_migrations']));
    const d = await invoke(describeOp, runtime, { table: `public.${table}` });
    expect(d.columns).toEqual([
      { name: 'id', type: 'integer', nullable: false, default: expect.stringMatching(/^nextval/) },
      { name: 'customer', type: 'text', nullable: false, default: null },
      { name: 'total', type: 'numeric(10,2)', nullable: true, default: '0' },
      { name: 'placed', type: 'timestamp with time zone', nullable: true, default: 'now()' },
    ]);
    expect(d.indexes.map((i: { name: string; primary: boolean }) => [i.name, i.primary])).toEqual([
      [`${table}_customer`, false],
      [`${table}_pkey`, true],
    ]);
    await expect(invoke(describeOp, runtime, { table: 'no_such_table' })).rejects.toMatchObject({ code: 'TWL_TABLE_NOT_FOUND' });
    await expect(invoke(describeOp, runtime, { table: 'bad"name' })).rejects.toMatchObject({ code: 'TWL_TABLE_NOT_FOUND' });
  });

  it.skipIf(!available)('reports health', async () => {
    const h = await invoke(healthOp, runtime, {});
    expect(h).toMatchObject({ target: 'store', reachable: true, version: expect.stringMatching(/PostgreSQL/), error: null });
    expect(h.latencyMs).toBeGreaterThanOrEqual(0);
    expect(h.sizeBytes).toBeGreaterThan(0);
  });
});

describe('database targets', () => {
  it.skipIf(!hasPostgres)('inspects a configured target, read-only', async () => {
    const { home, cleanup } = tempHome();
    const runtime = new Runtime(loadedFor(home, { database: { targets: { main: { url: POSTGRES_URL } } } }), quietLogger());
    try {
      const r = await invoke(queryOp, runtime, { sql: 'SELECT current_database() AS db', target: 'main' });
      expect(r).toMatchObject({ target: 'main', backend: 'postgres', rows: [{ db: 'test' }] });
      const h = await invoke(healthOp, runtime, { target: 'main' });
      expect(h.reachable).toBe(true);
      await expect(invoke(queryOp, runtime, { sql: 'select 1', target: 'nope' })).rejects.toMatchObject({ code: 'TWL_TARGET_UNKNOWN', message: expect.stringMatching(/Configured targets: main/) });
      // Names of Object.prototype's members are unknown targets like any other, not a crash.
      for (const target of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
        await expect(invoke(describeOp, runtime, { table: 'x', target })).rejects.toMatchObject({ code: 'TWL_TARGET_UNKNOWN' });
      }
    } finally {
      await runtime.close();
      cleanup();
    }
  });

  it('reports an unreachable target as down without a password in the message', async () => {
    const { home, cleanup } = tempHome();
    const runtime = new Runtime(loadedFor(home, { database: { targets: { gone: { url: 'postgres://admin:hunter2@127.0.0.1:1/x' } } } }), quietLogger());
    try {
      const h = await invoke(healthOp, runtime, { target: 'gone' });
      expect(h).toMatchObject({ target: 'gone', reachable: false, backend: null });
      expect(h.error).toMatch(/unreachable/);
      expect(h.error).not.toContain('hunter2');
      await expect(invoke(queryOp, runtime, { sql: 'select 1', target: 'gone' })).rejects.toMatchObject({ code: 'TWL_STORE_UNAVAILABLE' });
    } finally {
      await runtime.close();
      cleanup();
    }
  });
});
