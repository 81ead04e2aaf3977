import { describe, expect, it } from 'vitest';
import { StoreCache } from '../../src/runtime/cache.js';
import { embeddedPaths } from '../../src/store/embedded.js';
import { SELF_APPLICATION } from '../../src/store/host-server.js';
import { hostStore, openHostedStore, openStore } from '../../src/store/open.js';
import { loadedFor, quietLogger, tempHome } from '../helpers.js';

describe('sharing the embedded store between processes', () => {
  it('a second opener waits a bounded time, then fails clearly', async () => {
    const { home, cleanup } = tempHome();
    const first = await openStore(loadedFor(home), quietLogger(), { role: 'first holder' });
    try {
      const started = performance.now();
      const err = await openStore(loadedFor(home, { store: { lockTimeout: '700ms' } }), quietLogger()).catch((e: unknown) => e as { code: string; message: string });
      expect(err).toMatchObject({ code: 'TWL_STORE_BUSY' });
      expect((err as { message: string }).message).toMatch(/in use by pid \d+ \(first holder/);
      const waited = performance.now() - started;
      expect(waited).toBeGreaterThanOrEqual(600);
      // Bounded by the configured 700 ms, not the 10 s default (the slack is for a loaded machine).
      expect(waited).toBeLessThan(9000);
    } finally {
      await first.close();
      cleanup();
    }
  });

  it('a second opener proceeds once the first closes within the wait', async () => {
    const { home, cleanup } = tempHome();
    const first = await openStore(loadedFor(home), quietLogger());
    await new StoreCache(first).set('k', 'from first');
    const second = openStore(loadedFor(home, { store: { lockTimeout: '20s' } }), quietLogger());
    setTimeout(() => void first.close(), 300);
    const store = await second;
    expect((await new StoreCache(store).get('k'))?.value).toBe('from first');
    await store.close();
    cleanup();
  });

  it('clients of a host read and write the same data concurrently', async () => {
    const { home, cleanup } = tempHome();
    const loaded = loadedFor(home);
    const host = await openHostedStore(loaded, quietLogger(), 'test host');
    const clients = await Promise.all([openStore(loaded, quietLogger()), openStore(loaded, quietLogger())]);
    expect(clients.map((c) => c.backend)).toEqual(['embedded-host', 'embedded-host']);
    await Promise.all(clients.map((c, i) => Promise.all(Array.from({ length: 20 }, (_, j) => new StoreCache(c).set(`c${i}-${j}`, String(j))))));
    expect((await new StoreCache(host).keys('c*', 100)).keys).toHaveLength(40);
    for (const c of clients) await c.close();
    await host.close();
    // The host is gone: the next process opens the data directory itself, with the data intact.
    const after = await openStore(loaded, quietLogger());
    expect(after.backend).toBe('embedded');
    expect((await new StoreCache(after).get('c1-19'))?.value).toBe('19');
    await after.close();
    cleanup();
  });

  it('publishes its socket only once the store is migrated', async () => {
    const { home, cleanup } = tempHome();
    const loaded = loadedFor(home);
    const paths = embeddedPaths(home);
    const { existsSync } = await import('node:fs');
    const { default: pg } = await import('pg');
    const hosting = hostStore(loaded, quietLogger(), 'test host');
    // Poll hard for the socket, then look at once: a client arriving first must find the tables.
    while (!existsSync(paths.socketPath)) await new Promise((r) => setImmediate(r));
    const client = new pg.Client({ host: paths.runDir, port: 5432, user: 'postgres', database: 'postgres' });
    await client.connect();
    const { rows } = await client.query("SELECT to_regclass('twl_cache') IS NOT NULL AS ready");
    await client.end();
    expect(rows[0].ready).toBe(true);
    const { store } = await hosting;
    await store.close();
    cleanup();
  });

  it("an idle-expiring host exits when no other process is connected, its own connections open or not", async () => {
    const { home, cleanup } = tempHome();
    const paths = embeddedPaths(home);
    const { default: pg } = await import('pg');
    const { store, ended } = await hostStore(loadedFor(home), quietLogger(), 'test host', { idleMs: 300 });
    // The hosting process's own connection, held open (its pool keeps one ~10 s after each use).
    const own = new pg.Client({ host: paths.runDir, port: 5432, user: 'postgres', database: 'postgres', application_name: SELF_APPLICATION });
    await own.connect();
    try {
      await own.query('SELECT 1');
      // Before the fix it waited for the own connection to close: never, here (the test timed out).
      expect(await ended).toBe('idle for 300 ms');
    } finally {
      await own.end();
      await store.close();
      cleanup();
    }
  });

  it('takes over a stale socket left by a host that died', async () => {
    const { home, cleanup } = tempHome();
    const loaded = loadedFor(home);
    const { mkdirSync, writeFileSync } = await import('node:fs');
    const paths = embeddedPaths(home);
    mkdirSync(paths.runDir, { recursive: true });
    writeFileSync(paths.socketPath, '');
    const store = await openStore(loaded, quietLogger());
    expect(store.backend).toBe('embedded');
    await store.close();
    cleanup();
  });
});
