import { describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/open.js';
import { migrate } from '../../src/store/migrate.js';
import type { Store } from '../../src/store/types.js';
import { expiredGrantOf, getTask } from '../../src/studio/tasks.js';
import { hasPostgres, loadedFor, quietLogger, scratchDatabase, tempHome } from '../helpers.js';

/*
 * Migration 0023 gives tasks the end of their creator's grant (grant_expires_at). A task an OAuth
 * caller created before it (created_by `rest:jwt:…`, `mcp:jwt:…`) has no recorded token expiry: its
 * grant is taken to end when it was created (the token was known valid then, and no later), so its
 * next run fails closed. Tasks of the command line and of API keys keep a grant without end. Both
 * stores, each of its own (the column is dropped and the migration applied again).
 */

const backends = [
  {
    name: 'embedded',
    available: true,
    async open(): Promise<{ store: Store; done: () => Promise<void> }> {
      const { home, cleanup } = tempHome('twl-grant-expiry-');
      const store = await openStore(loadedFor(home), quietLogger());
      return { store, done: async () => (await store.close(), cleanup()) };
    },
  },
  {
    name: 'postgres',
    available: hasPostgres,
    async open(): Promise<{ store: Store; done: () => Promise<void> }> {
      const { home, cleanup } = tempHome('twl-grant-expiry-');
      const scratch = await scratchDatabase('twl_grant_expiry');
      const store = await openStore(loadedFor(home, { database: { url: scratch.url } }), quietLogger());
      return { store, done: async () => (await store.close(), await scratch.drop(), cleanup()) };
    },
  },
];

describe.each(backends)('migration 0023 on $name', (backend) => {
  it.skipIf(!backend.available)('ends the grant of the tasks OAuth callers created before it, and of no other', async () => {
    const { store, done } = await backend.open();
    try {
      // The store as it was before 0023, with tasks of every kind of creator.
      await store.exec('ALTER TABLE twl_tasks DROP COLUMN grant_expires_at');
      await store.query('DELETE FROM twl_migrations WHERE version = 23');
      const creators = ['rest:jwt:alice (alice@example.test)', 'mcp:jwt:robot', 'cli:alice', 'rest:key:3 (ci)', 'mcp:key:3', 'rest:local', 'task:9', 'cli:rest:jwt:x'];
      const ids: number[] = [];
      for (const createdBy of creators) {
        const { rows } = await store.query<{ id: string }>(
          "INSERT INTO twl_tasks (kind, tool, trigger, cron, tz, status, retries, timeout_ms, created_by, created_at) VALUES ('tool', 'x', 'cron', '0 * * * *', 'UTC', 'draft', 0, 1000, $1, now() - interval '3 days') RETURNING id",
          [createdBy],
        );
        ids.push(Number(rows[0]!.id));
      }
      expect((await migrate(store)).map((m) => m.version)).toEqual([23]);
      const tasks = await Promise.all(ids.map((id) => getTask(store, id)));
      expect(tasks.map((t) => [t.createdBy, t.grantExpiresAt === null ? null : t.grantExpiresAt === t.createdAt])).toEqual([
        ['rest:jwt:alice (alice@example.test)', true],
        ['mcp:jwt:robot', true],
        ['cli:alice', null],
        ['rest:key:3 (ci)', null],
        ['mcp:key:3', null],
        ['rest:local', null],
        ['task:9', null],
        ['cli:rest:jwt:x', null],
      ]);
      // A worker refuses their next run; the others run as before.
      expect(expiredGrantOf(tasks[0]!)).toMatch(/^The grant of rest:jwt:alice \(alice@example\.test\), who created task #\d+ with an OAuth access token, ended when that token expired at /);
      expect(tasks.slice(2).map((t) => expiredGrantOf(t))).toEqual(Array(6).fill(undefined));
    } finally {
      await done();
    }
  });
});
