import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { vi } from 'vitest';
import { RedisCache, StoreCache, type Cache } from '../../src/runtime/cache.js';
import type { ConfigInput } from '../../src/runtime/config.js';
import { openHostedStore, openStore } from '../../src/store/open.js';
import type { Store } from '../../src/store/types.js';
import { EventFollower } from '../../src/studio/events.js';
import { POSTGRES_URL, REDIS_URL, hasPostgres, hasRedis, loadedFor, quietLogger, tempHome } from '../helpers.js';

export interface StoreBackendCase {
  name: string;
  available: boolean;
  open(): Promise<{ store: Store; done: () => Promise<void> }>;
}

/** Every store backend the suite runs against: the embedded one (direct and hosted) and a real PostgreSQL. */
export const storeBackends: StoreBackendCase[] = [
  {
    name: 'embedded',
    available: true,
    async open() {
      const { home, cleanup } = tempHome();
      const store = await openStore(loadedFor(home), quietLogger());
      return { store, done: async () => (await store.close(), cleanup()) };
    },
  },
  {
    name: 'embedded via host socket',
    available: true,
    async open() {
      const { home, cleanup } = tempHome();
      const loaded = loadedFor(home);
      const host = await openHostedStore(loaded, quietLogger(), 'test host');
      const store = await openStore(loaded, quietLogger());
      return { store, done: async () => (await store.close(), await host.close(), cleanup()) };
    },
  },
  {
    name: 'postgres',
    available: hasPostgres,
    async open() {
      const { home, cleanup } = tempHome();
      const store = await openStore(loadedFor(home, { database: { url: POSTGRES_URL } }), quietLogger());
      return { store, done: async () => (await store.close(), cleanup()) };
    },
  },
];

export interface CacheBackendCase {
  name: string;
  available: boolean;
  open(): Promise<{ cache: Cache; done: () => Promise<void> }>;
}

export const cacheBackends: CacheBackendCase[] = [
  ...storeBackends
    .filter((b) => b.name !== 'embedded via host socket')
    .map((b) => ({
      name: `store (${b.name})`,
      available: b.available,
      async open() {
        const { store, done } = await b.open();
        return { cache: new StoreCache(store) as Cache, done };
      },
    })),
  {
    name: 'redis',
    available: hasRedis,
    async open() {
      const cache = await RedisCache.connect(REDIS_URL, `twl-test-${randomUUID().slice(0, 8)}:`, quietLogger());
      return { cache: cache as Cache, done: () => cache.close() };
    },
  },
];

/**
 * The store backends of a test runtime (`testRuntime(home, { database: db })`): the embedded one and a real PostgreSQL.
 * `available` is false only for a PostgreSQL that is not there, and under CI=true that fails the run instead (`hasPostgres`).
 */
export const runtimeBackends = [
  { name: 'embedded', available: true, db: {} },
  { name: 'postgres', available: hasPostgres, db: { url: POSTGRES_URL } },
];

/**
 * The same backends as whole configs (`testRuntime(home, config)`, `loadedFor(home, config)`), each with `extra`:
 * `embedded` renames the embedded case (a test that hosts it), `url` points PostgreSQL at another database.
 */
export const configBackends = (extra: ConfigInput = {}, o: { embedded?: string; url?: string } = {}) =>
  runtimeBackends.map(({ name, available, db }): { name: string; available: boolean; config: ConfigInput } => ({
    name: name === 'embedded' ? (o.embedded ?? name) : name,
    available,
    config: name === 'embedded' ? extra : { ...extra, database: { ...db, ...(o.url ? { url: o.url } : {}) } },
  }));

/** A unique key namespace per test, so runs against shared servers never collide. */
export const unique = (label: string) => `${label}-${randomUUID().slice(0, 8)}`;

/** Makes the studio's event followers slow to listen, as on a loaded machine: each add() waits ms first. Restore the returned spy. */
export function slowEventFollower(ms: number) {
  const add = EventFollower.prototype.add;
  return vi.spyOn(EventFollower.prototype, 'add').mockImplementation(async function (this: EventFollower, listener) {
    await sleep(ms);
    return add.call(this, listener);
  });
}
