import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import queryOp from '../../src/ops/db/query.js';
import { invoke } from '../../src/ops/invoke.js';
import type { ConfigInput } from '../../src/runtime/config.js';
import { Runtime } from '../../src/runtime/context.js';
import type { Store } from '../../src/store/types.js';
import { hostileCorpus, hostileSetup, hostileTeardown, instantiate, sessionProbe } from '../fixtures/hostile-sql.js';
import { POSTGRES_URL, hasPostgres, loadedFor, quietLogger, tempHome } from '../helpers.js';

/**
 * The hostile SQL corpus against the `db query` op on every store backend: after each attempt
 * the canary rows, a sleeping backend, large objects, advisory locks and the session's settings
 * are what they were, and an ordinary query still works.
 */

const id = randomUUID().slice(0, 8);
const names = { s: `twl_hostile_${id}`, c: `twl_canary_${id}`, p: `twl_p_${id}_`, db: `twl_corpus_${id}` };
const dbUrl = (db: string) => {
  const url = new URL(POSTGRES_URL);
  url.pathname = `/${db}`;
  return url.toString();
};

interface Backend {
  name: string;
  available: boolean;
  /** Config for twl, and a client for the test's own checks (null: use twl's store). */
  prepare(): Promise<{ config: ConfigInput; admin: pg.Client | null; done: () => Promise<void> }>;
}

const backends: Backend[] = [
  {
    name: 'embedded',
    available: true,
    prepare: async () => ({ config: {}, admin: null, done: async () => undefined }),
  },
  {
    name: 'postgres',
    available: hasPostgres,
    async prepare() {
      // A private database: dblink is installed in it, and large objects and locks are counted in it alone.
      const root = new pg.Client({ connectionString: POSTGRES_URL });
      await root.connect();
      await root.query(`CREATE DATABASE ${names.db}`);
      const admin = new pg.Client({ connectionString: dbUrl(names.db) });
      await admin.connect();
      await admin.query('CREATE EXTENSION IF NOT EXISTS dblink').catch(() => undefined);
      return {
        config: { database: { url: dbUrl(names.db), poolSize: 1 } },
        admin,
        done: async () => {
          await admin.end();
          await root.query(`DROP DATABASE IF EXISTS ${names.db} WITH (FORCE)`);
          await root.end();
        },
      };
    },
  },
];

describe.each(backends)('hostile SQL against db query on $name', ({ available, prepare }) => {
  let runtime: Runtime;
  let store: Store;
  let admin: pg.Client | null;
  let done: () => Promise<void>;
  let cleanup: () => void;
  let sleeper: { client: pg.Client; pid: number; ended: boolean } | undefined;
  let baseline: { session: unknown; largeObjects: number; advisory: number };

  /** The test's own reads: a separate connection on PostgreSQL, twl's store (its one session) on the embedded one. */
  const read = async <R>(sql: string, params: unknown[] = []): Promise<R[]> => (admin ? (await admin.query(sql, params)).rows : (await store.query(sql, params)).rows) as R[];
  const query = (sql: string) => invoke(queryOp, runtime, { sql, timeout_ms: 3000 });
  const state = async () => ({
    session: (await query(sessionProbe)).rows[0],
    largeObjects: Number((await read<{ n: string }>('select count(*) as n from pg_largeobject_metadata'))[0]!.n),
    advisory: Number((await read<{ n: string }>("select count(*) as n from pg_locks where locktype = 'advisory' and database = (select oid from pg_database where datname = current_database())"))[0]!.n),
  });

  beforeAll(async () => {
    if (!available) return;
    const temp = tempHome();
    cleanup = temp.cleanup;
    const prepared = await prepare();
    ({ admin, done } = prepared);
    runtime = new Runtime(loadedFor(temp.home, prepared.config), quietLogger());
    store = await runtime.store();
    await (admin ? admin.query(hostileSetup(names.s, names.c, names.p)) : store.exec(hostileSetup(names.s, names.c, names.p)));
    if (admin) {
      const client = new pg.Client({ connectionString: dbUrl(names.db) });
      await client.connect();
      const pid = (await client.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;
      sleeper = { client, pid, ended: false };
      client.query('select pg_sleep(600)').then(
        () => (sleeper!.ended = true),
        () => (sleeper!.ended = true),
      );
    }
    baseline = await state();
  });

  afterAll(async () => {
    if (!available) return;
    await sleeper?.client.end().catch(() => undefined);
    if (!admin) await store.exec(hostileTeardown(names.s, names.c, names.p)).catch(() => undefined);
    await runtime.close();
    await done();
    cleanup();
  });

  it.skipIf(!available)('refuses or contains every attempt of the corpus', async () => {
    const pid = sleeper?.pid ?? 1;
    const failures: string[] = [];
    for (const attempt of hostileCorpus) {
      if (attempt.postgresOnly && !admin) continue;
      const sql = instantiate(attempt.sql, { pid, ...names });
      const label = sql.length > 120 ? `${sql.slice(0, 120)}…` : sql;
      const outcome = await query(sql).then(
        () => 'ran',
        (err: { code?: string; message?: string }) => `${err.code ?? 'error'}: ${err.message}`,
      );
      if (attempt.expect === 'refused' && !/^TWL_SQL_(REFUSED|INVALID)/.test(outcome)) failures.push(`not refused: ${label} → ${outcome}`);
      if (attempt.expect === 'runs' && outcome !== 'ran') failures.push(`a harmless query failed: ${label} → ${outcome}`);
      const canary = await read<{ id: number; v: number }>(`select id, v from ${names.c} order by id`);
      if (JSON.stringify(canary) !== JSON.stringify([{ id: 1, v: 10 }, { id: 2, v: 20 }, { id: 3, v: 30 }])) failures.push(`canary changed by: ${label}`);
      if (sleeper) {
        const alive = await read('select 1 from pg_stat_activity where pid = $1', [pid]);
        if (sleeper.ended || alive.length !== 1) failures.push(`the sleeping backend died after: ${label}`);
      }
      const now = await state().catch((err: Error) => ({ error: err.message }));
      if (JSON.stringify(now) !== JSON.stringify(baseline)) failures.push(`state changed by: ${label} → ${JSON.stringify(now)} (was ${JSON.stringify(baseline)})`);
      // An ordinary command on the store still works (a broken search_path fails here).
      const tickets = await invoke(queryOp, runtime, { sql: 'select count(*) as n from twl_tickets' }).catch((err: Error) => err);
      if (tickets instanceof Error) failures.push(`an ordinary query fails after: ${label} → ${tickets.message}`);
    }
    expect(failures).toEqual([]);
  }, 600_000);

  it.skipIf(!available)('caps a 100 MB value in bytes, server-side, and says so', async () => {
    const warnings: string[] = [];
    const r = await invoke(queryOp, runtime, { sql: "select 1 as n, repeat('x', 100000000) as x", timeout_ms: 30_000 }, { warn: (m) => warnings.push(m) });
    expect(r).toMatchObject({ rowCount: 0, truncated: true, truncatedBy: 'bytes' });
    expect(warnings.join(' ')).toMatch(/byte cap \(database\.queryMaxBytes\)/);
    const some = await invoke(queryOp, runtime, { sql: "select g, repeat('x', 1000000) as x from generate_series(1, 30) g", timeout_ms: 30_000 });
    expect(some.truncatedBy).toBe('bytes');
    expect(some.rowCount).toBe(10);
    expect(some.rows.map((row) => row.g)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it.skipIf(!available)('keeps ordinary queries working: columns, parameters, aggregates, casts, operators', async () => {
    const r = await invoke(queryOp, runtime, {
      sql: `select c.id, c.v::text as v, sum(c.v) over () as total, $1::int + 1 as p, 'pg_class'::regclass::text as rel, c.id OPERATOR(pg_catalog.=) 1 as first
              from ${names.c} c where c.id between 1 and 2 order by c.id`,
      params: ['41'],
    });
    expect(r.rows).toEqual([
      { id: 1, v: '10', total: '30', p: 42, rel: 'pg_class', first: true },
      { id: 2, v: '20', total: '30', p: 42, rel: 'pg_class', first: false },
    ]);
    expect(r.columns.map((c) => c.type)).toEqual(['integer', 'text', 'bigint', 'integer', 'text', 'boolean']);
  });
});

describe.skipIf(!hasPostgres)('database.readOnlyRole on PostgreSQL', () => {
  const role = `twl_ro_${randomUUID().slice(0, 8)}`;
  const table = `twl_ro_table_${randomUUID().slice(0, 8)}`;
  let root: pg.Client;
  let cleanup: () => void;
  let home: string;
  const runtimes: Runtime[] = [];
  const runtimeWith = (readOnlyRole: string) => {
    const runtime = new Runtime(loadedFor(home, { database: { url: POSTGRES_URL, poolSize: 1, readOnlyRole } }), quietLogger());
    runtimes.push(runtime);
    return runtime;
  };

  beforeAll(async () => {
    ({ home, cleanup } = tempHome());
    root = new pg.Client({ connectionString: POSTGRES_URL });
    await root.connect();
    // The grants docs/sql-guard.md documents, on one table (the suite shares this database).
    await root.query(`CREATE ROLE ${role} NOLOGIN NOINHERIT; CREATE TABLE ${table} (id int); INSERT INTO ${table} VALUES (1); GRANT SELECT ON ${table} TO ${role}`);
  });
  afterAll(async () => {
    for (const r of runtimes) await r.close();
    await root.query(`DROP TABLE IF EXISTS ${table}; DROP ROLE IF EXISTS ${role}`);
    await root.end();
    cleanup();
  });

  it('runs the statement as the role, which reads only what it was granted, and the session keeps its own role', async () => {
    const runtime = runtimeWith(role);
    expect((await invoke(queryOp, runtime, { sql: 'select current_user::text as u' })).rows).toEqual([{ u: role }]);
    expect((await invoke(queryOp, runtime, { sql: `select id from ${table}` })).rows).toEqual([{ id: 1 }]);
    await expect(invoke(queryOp, runtime, { sql: 'select count(*) from twl_tickets' })).rejects.toThrow(/permission denied/);
    // The role is set for the transaction only: the store's own queries run as the connecting user.
    expect((await (await runtime.store()).query<{ u: string }>('select current_user::text as u')).rows[0]!.u).not.toBe(role);
  });

  it('refuses with a clear error when the role does not exist', async () => {
    await expect(invoke(queryOp, runtimeWith(`${role}_missing`), { sql: 'select 1' })).rejects.toMatchObject({ code: 'TWL_CONFIG_INVALID', message: expect.stringMatching(/readOnlyRole names the role "twl_ro_\w+_missing", which does not exist/) });
  });

  it('quotes the role name: a name with quotes and spaces is one identifier', async () => {
    const odd = `${role} "x"; reset role`;
    await root.query(`CREATE ROLE "${odd.replace(/"/g, '""')}" NOLOGIN`);
    try {
      expect((await invoke(queryOp, runtimeWith(odd), { sql: 'select current_user::text as u' })).rows).toEqual([{ u: odd }]);
    } finally {
      await root.query(`DROP ROLE "${odd.replace(/"/g, '""')}"`);
    }
  });
});
