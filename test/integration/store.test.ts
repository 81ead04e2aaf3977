import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate, migrationStatus, migrations } from '../../src/store/migrate.js';
import { PgStore } from '../../src/store/postgres.js';
import type { Store } from '../../src/store/types.js';
import { errorOf, hasPostgres, quietLogger, scratchDatabase, waitFor } from '../helpers.js';
import { storeBackends, unique } from './backends.js';

describe.each(storeBackends)('store on $name', (backend) => {
  let store: Store;
  let done: () => Promise<void>;

  beforeAll(async () => {
    if (!backend.available) return;
    ({ store, done } = await backend.open());
  });
  afterAll(async () => done?.());

  it.skipIf(!backend.available)('has every migration applied', async () => {
    const status = await migrationStatus(store);
    expect(status.map((s) => s.version)).toEqual(migrations().map((m) => m.version));
    expect(status.every((s) => s.appliedAt !== null)).toBe(true);
  });

  it.skipIf(!backend.available)('commits a transaction and rolls back a failed one', async () => {
    const key = unique('tx');
    await store.transaction(async (tx) => {
      await tx.query('INSERT INTO twl_cache (key, value) VALUES ($1, $2)', [key, 'kept']);
    });
    await expect(
      store.transaction(async (tx) => {
        await tx.query('UPDATE twl_cache SET value = $2 WHERE key = $1', [key, 'lost']);
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    const { rows } = await store.query<{ value: string }>('SELECT value FROM twl_cache WHERE key = $1', [key]);
    expect(rows).toEqual([{ value: 'kept' }]);
    await store.query('DELETE FROM twl_cache WHERE key = $1', [key]);
  });

  it.skipIf(!backend.available)('refuses writes in a read-only transaction', async () => {
    await expect(store.transaction((tx) => tx.query("INSERT INTO twl_cache (key, value) VALUES ('ro', 'x')"), { readOnly: true })).rejects.toThrow(/read-only transaction/);
  });

  it.skipIf(!backend.available)('returns the same value types as pg', async () => {
    const { rows } = await store.query<Record<string, unknown>>("SELECT 9007199254740993::int8 AS big, 1.50::numeric AS num, 42::int4 AS i, true AS b, '2026-01-02T03:04:05Z'::timestamptz AS t");
    expect(rows[0]).toEqual({ big: '9007199254740993', num: '1.50', i: 42, b: true, t: new Date('2026-01-02T03:04:05Z') });
  });
});

describe.each(storeBackends.filter((b) => b.name !== 'embedded via host socket'))('statement timeout on $name', (backend) => {
  it.skipIf(!backend.available)('stops a long statement at the timeout', async () => {
    const { store, done } = await backend.open();
    try {
      const started = performance.now();
      await expect(store.transaction((tx) => tx.query('SELECT pg_sleep(10)'), { readOnly: true, timeoutMs: 500 })).rejects.toMatchObject({ code: 'TWL_TIMEOUT' });
      expect(performance.now() - started).toBeLessThan(5000);
    } finally {
      await done();
    }
  });
});

describe.skipIf(!hasPostgres)('an interrupted statement on PostgreSQL', () => {
  it('is cancelled on the server, not left running to its statement_timeout once its connection is dropped', async () => {
    const backend = storeBackends.find((b) => b.name === 'postgres')!;
    const { store, done } = await backend.open();
    // A value no other statement uses: the statement is found by its text in pg_stat_activity.
    const seconds = `61.${Date.now() % 100_000}`;
    const running = async () => (await store.query<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE state = 'active' AND pid <> pg_backend_pid() AND query LIKE $1", [`%pg_sleep(${seconds})%`])).rows;
    try {
      const controller = new AbortController();
      const statement = errorOf(store.transaction((tx) => tx.query(`SELECT pg_sleep(${seconds})`), { readOnly: true, timeoutMs: 120_000, signal: controller.signal }));
      await waitFor('the statement running on the server', async () => ((await running()).length ? true : undefined), 60_000);
      controller.abort();
      expect((await statement).code).toBe('TWL_INTERRUPTED');
      // Gone from the server well before its 61 s (the old code left it there until then).
      await waitFor('the statement gone from the server', async () => ((await running()).length === 0 ? true : undefined), 20_000);
    } finally {
      await done();
    }
  });
});

describe.skipIf(!hasPostgres)('migrations on a database another build migrated', () => {
  it('are refused, naming the version, when a recorded migration has another name', async () => {
    const scratch = await scratchDatabase('twl_foreign_migrations');
    const store = await PgStore.connect({ connectionString: scratch.url, max: 2 }, 'postgres', 'scratch', quietLogger());
    try {
      await migrate(store);
      const last = migrations().at(-1)!;
      // Another build's migration of the same number: this build's would be skipped as applied.
      await store.query('UPDATE twl_migrations SET name = $2 WHERE version = $1', [last.version, 'someone_elses']);
      const refused = await errorOf(migrate(store));
      expect(refused.code).toBe('TWL_STORE_FAILED');
      expect(refused.message).toContain(`migration ${last.version} is recorded as "someone_elses", this twl's is "${last.name}"`);
      expect((await migrationStatus(store)).at(-1)).toMatchObject({ version: last.version, recordedAs: 'someone_elses' });
    } finally {
      await store.close();
      await scratch.drop();
    }
  });
});
