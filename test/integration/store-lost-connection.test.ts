import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgStore } from '../../src/store/postgres.js';
import { PrivatePostgres, requirePrivatePostgres } from '../fixtures/private-postgres.js';
import { errorOf, quietLogger } from '../helpers.js';

/**
 * PostgreSQL killed while a transaction holds its connection between two statements (its function
 * awaiting something else, as the retention pass does between batches): the connection's 'error'
 * event comes while the pool does not listen to that client. Unheard, Node ends the process (an
 * 'error' event without a listener), which took `twl serve` down with its database in a CI run.
 * The transaction must fail with TWL_STORE_UNAVAILABLE instead, and the store recover.
 */
describe.skipIf(!requirePrivatePostgres())('a transaction whose PostgreSQL dies between two statements', () => {
  let pg: PrivatePostgres;
  let store: PgStore;
  beforeAll(async () => {
    pg = await PrivatePostgres.create();
    store = await PgStore.connect({ connectionString: pg.url, max: 2 }, 'postgres', 'private', quietLogger());
  });
  afterAll(async () => {
    await store?.close();
    await pg?.destroy();
  });

  it('fails with TWL_STORE_UNAVAILABLE, the process stays up, and the next transaction works once it is back', async () => {
    let resume!: () => void;
    const paused = new Promise<void>((resolve) => (resume = resolve));
    let inside!: () => void;
    const holding = new Promise<void>((resolve) => (inside = resolve));
    const tx = store.transaction(async (q) => {
      await q.query('SELECT 1');
      inside();
      // Between two statements: nothing of this transaction is on the wire when the server dies.
      await paused;
      await q.query('SELECT 2');
    });
    const failed = errorOf(tx);
    await holding;
    await pg.kill();
    // Give the dead socket's 'error' time to arrive while the client is still held.
    await new Promise((r) => setTimeout(r, 200));
    resume();
    const err = await failed;
    expect(['TWL_STORE_UNAVAILABLE', 'TWL_STORE_FAILED']).toContain(err.code);
    await pg.start();
    await expect(store.transaction((q) => q.query<{ n: number }>('SELECT 3 AS n'))).resolves.toMatchObject({ rows: [{ n: 3 }] });
  });
});
