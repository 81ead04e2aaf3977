import { randomUUID } from 'node:crypto';
import { RedisCache, StoreCache, type Cache } from '../../src/runtime/cache.js';
import { openHostedStore, openStore } from '../../src/store/open.js';
import type { Store } from '../../src/store/types.js';
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

/** A unique key namespace per test, so runs against shared servers never collide. */
/** The store backends of a test runtime (`testRuntime(home, { database: db })`): the embedded one and a real PostgreSQL. */
export const runtimeBackends = [
  { name: 'embedded', available: true, db: {} },
  { name: 'postgres', available: hasPostgres, db: { url: POSTGRES_URL } },
];

export const unique = (label: string) => `${label}-${randomUUID().slice(0, 8)}`;
