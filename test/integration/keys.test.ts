import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { createClient } from '@redis/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKey, hashKey, keyPattern, listKeys, parseNamespaces, revokeKey, verifyKey } from '../../src/http/keys.js';
import { RedisRateLimiter } from '../../src/http/rate-limit.js';
import type { Runtime } from '../../src/runtime/context.js';
import type { Store } from '../../src/store/types.js';
import { REDIS_URL, hasRedis, quietLogger, tempHome, testRuntime, waitFor } from '../helpers.js';
import { configBackends } from './backends.js';

const backends = configBackends();

describe.each(backends)('API keys on the $name store', (backend) => {
  let runtime: Runtime;
  let store: Store;
  let cleanup: () => void;
  // The PostgreSQL test database is shared: every name is unique to this run.
  const tag = randomUUID().slice(0, 8);

  beforeAll(async () => {
    if (!backend.available) return;
    const t = tempHome('twl-keys-');
    cleanup = t.cleanup;
    runtime = testRuntime(t.home, backend.config);
    store = await runtime.store();
  });
  afterAll(async () => {
    await runtime?.close();
    cleanup?.();
  });

  it.skipIf(!backend.available)('creates a key shown once, stored only as a hash', async () => {
    const created = await createKey(store, { role: 'operator', name: `ci-bot-${tag}` });
    expect(created.key).toMatch(keyPattern);
    expect(created.prefix).toBe(created.key.slice(0, 12));
    expect(created).toMatchObject({ role: 'operator', name: `ci-bot-${tag}` });
    expect(created.id).toBeTypeOf('number');
    const { rows } = await store.query<Record<string, unknown>>('SELECT * FROM twl_api_keys WHERE id = $1', [created.id]);
    expect(rows[0]!.hash).toBe(hashKey(created.key));
    expect(JSON.stringify(rows[0])).not.toContain(created.key);
    // Two keys are never the same.
    const other = await createKey(store, { role: 'operator' });
    expect(other.key).not.toBe(created.key);
    expect(other.name).toBeNull();
  });

  it.skipIf(!backend.available)('keeps a key\'s namespace grant (checked, deduplicated, sorted) and verifies it with the key', async () => {
    const created = await createKey(store, { role: 'operator', name: `ns-${tag}`, namespaces: parseNamespaces('memory, twl,memory') });
    expect(created.namespaces).toEqual(['memory', 'twl']);
    expect(await verifyKey(store, created.key)).toEqual({ id: created.id, role: 'operator', name: `ns-${tag}`, namespaces: ['memory', 'twl'] });
    expect((await listKeys(store)).find((k) => k.id === created.id)?.namespaces).toEqual(['memory', 'twl']);
    expect(parseNamespaces(undefined)).toBeNull();
    for (const bad of ['', ' , ', 'Memory', 'a_b', '../x', 'x'.repeat(33), "twl'; DROP TABLE twl_api_keys; --"]) {
      expect(() => parseNamespaces(bad), bad).toThrow(expect.objectContaining({ code: 'TWL_INPUT_INVALID' }));
    }
  });

  it.skipIf(!backend.available)('verifies a key to its role, and refuses anything else', async () => {
    const created = await createKey(store, { role: 'manager', name: `verify-${tag}` });
    expect(await verifyKey(store, created.key)).toEqual({ id: created.id, role: 'manager', name: `verify-${tag}` });
    // One character off, truncated, the prefix, the hash, garbage, nothing.
    const flipped = created.key.slice(0, -1) + (created.key.endsWith('A') ? 'B' : 'A');
    for (const bad of [flipped, created.key.slice(0, -1), created.prefix, hashKey(created.key), `${created.key} `, 'Bearer x', '', undefined, null]) {
      expect(await verifyKey(store, bad)).toBeNull();
    }
  });

  it.skipIf(!backend.available)('records the last use at most once a minute', async () => {
    const created = await createKey(store, { role: 'viewer', name: `touch-${tag}` });
    const lastUsed = async () => (await listKeys(store)).find((k) => k.id === created.id)!.lastUsedAt;
    expect(await lastUsed()).toBeNull();
    await verifyKey(store, created.key);
    const first = await lastUsed();
    expect(first).not.toBeNull();
    await sleep(20);
    await verifyKey(store, created.key);
    expect(await lastUsed()).toBe(first);
    await store.query("UPDATE twl_api_keys SET last_used_at = now() - interval '2 minutes' WHERE id = $1", [created.id]);
    const old = await lastUsed();
    await verifyKey(store, created.key);
    expect(Date.parse((await lastUsed())!)).toBeGreaterThan(Date.parse(old!) + 60_000);
  });

  it.skipIf(!backend.available)('lists keys without the key or its hash', async () => {
    const created = await createKey(store, { role: 'admin', name: `list-${tag}` });
    const keys = await listKeys(store);
    const mine = keys.find((k) => k.id === created.id)!;
    expect(mine).toEqual({ id: created.id, name: `list-${tag}`, role: 'admin', prefix: created.prefix, namespaces: null, createdAt: created.createdAt, lastUsedAt: null, revokedAt: null });
    const text = JSON.stringify(keys);
    expect(text).not.toContain(created.key);
    expect(text).not.toContain(hashKey(created.key));
    expect(text).not.toMatch(/hash/i);
  });

  it.skipIf(!backend.available)('revokes by id, by prefix or by the key; a revoked key fails', async () => {
    const [a, b, c] = [await createKey(store, { role: 'viewer', name: `r1-${tag}` }), await createKey(store, { role: 'operator', name: `r2-${tag}` }), await createKey(store, { role: 'admin', name: `r3-${tag}` })];
    for (const k of [a, b, c]) expect(await verifyKey(store, k.key)).not.toBeNull();

    const byId = await revokeKey(store, String(a.id));
    expect(byId).toMatchObject({ id: a.id, revoked: true });
    expect(byId.revokedAt).not.toBeNull();
    expect(await revokeKey(store, b.prefix)).toMatchObject({ id: b.id, revoked: true });
    expect(await revokeKey(store, c.key)).toMatchObject({ id: c.id, revoked: true });
    for (const k of [a, b, c]) expect(await verifyKey(store, k.key)).toBeNull();

    // Idempotent, and still listed with the time of revocation; --active hides it.
    expect(await revokeKey(store, String(a.id))).toMatchObject({ id: a.id, revoked: false, revokedAt: byId.revokedAt });
    expect((await listKeys(store)).find((k) => k.id === a.id)?.revokedAt).toBe(byId.revokedAt);
    expect((await listKeys(store, { includeRevoked: false })).some((k) => k.id === a.id)).toBe(false);
  });

  it.skipIf(!backend.available)('refuses unknown roles and unknown or malformed references', async () => {
    await expect(createKey(store, { role: 'root' })).rejects.toMatchObject({ code: 'TWL_INPUT_INVALID' });
    await expect(revokeKey(store, '999999999999')).rejects.toMatchObject({ code: 'TWL_INPUT_INVALID', message: expect.stringMatching(/No API key/) });
    await expect(revokeKey(store, 'twl_zzzzzzzz')).rejects.toMatchObject({ code: 'TWL_INPUT_INVALID' });
    await expect(revokeKey(store, 'ci-bot')).rejects.toMatchObject({ code: 'TWL_INPUT_INVALID' });
    // The database holds to the four roles too.
    await expect(store.query("INSERT INTO twl_api_keys (role, prefix, hash) VALUES ('root', 'twl_x', $1)", [hashKey(randomUUID())])).rejects.toThrow();
  });

  it.skipIf(!backend.available)('refuses a prefix shared by several live keys', async () => {
    const a = await createKey(store, { role: 'viewer', name: `dup-${tag}` });
    const b = await createKey(store, { role: 'viewer', name: `dup2-${tag}` });
    await store.query('UPDATE twl_api_keys SET prefix = $1 WHERE id = $2', [a.prefix, b.id]);
    await expect(revokeKey(store, a.prefix)).rejects.toMatchObject({ code: 'TWL_INPUT_INVALID', message: expect.stringMatching(/revoke by id/) });
    await revokeKey(store, String(b.id));
    // Once only one of them is live, the prefix names it.
    expect(await revokeKey(store, a.prefix)).toMatchObject({ id: a.id, revoked: true });
  });
});

describe.skipIf(!hasRedis)('rate limits in Redis', () => {
  const prefix = `twl-test-${randomUUID().slice(0, 8)}:`;
  let one: RedisRateLimiter;
  let two: RedisRateLimiter;
  let raw: ReturnType<typeof createClient>;

  beforeAll(async () => {
    one = await RedisRateLimiter.connect(REDIS_URL, { prefix, logger: quietLogger(), onError: 'throw' });
    two = await RedisRateLimiter.connect(REDIS_URL, { prefix, logger: quietLogger(), onError: 'throw' });
    raw = createClient({ url: REDIS_URL });
    await raw.connect();
  });
  afterAll(async () => {
    await one?.close();
    await two?.close();
    if (raw) {
      const keys: string[] = [];
      for await (const batch of raw.scanIterator({ MATCH: `${prefix}*` })) keys.push(...batch.map(String));
      if (keys.length) await raw.del(keys);
      await raw.close();
    }
  });

  it('two limiters (two replicas) share one bucket', async () => {
    const spec = { capacity: 4, refillPerMinute: 4 };
    const results = [];
    for (let i = 0; i < 4; i++) results.push(await (i % 2 ? two : one).take('ip:10.0.0.1', spec));
    expect(results.map((r) => r.allowed)).toEqual([true, true, true, true]);
    expect(results.map((r) => r.remaining)).toEqual([3, 2, 1, 0]);
    const refused = await two.take('ip:10.0.0.1', spec);
    expect(refused.allowed).toBe(false);
    expect(refused.remaining).toBe(0);
    // 4 a minute: a token every 15 s.
    expect(refused.retryAfterSeconds).toBeGreaterThanOrEqual(14);
    expect(refused.retryAfterSeconds).toBeLessThanOrEqual(15);
    expect((await one.take('ip:10.0.0.1', spec)).allowed).toBe(false);
    expect((await one.take('ip:10.0.0.2', spec)).allowed).toBe(true);
  });

  it('is atomic under concurrent takes', async () => {
    const spec = { capacity: 10, refillPerMinute: 1 };
    const results = await Promise.all(Array.from({ length: 30 }, (_, i) => (i % 2 ? two : one).take('key:concurrent', spec)));
    expect(results.filter((r) => r.allowed)).toHaveLength(10);
  });

  it('refills over time, and lets an idle bucket expire', async () => {
    // One token every 5 s: slow enough that the checks below hold on a loaded machine (each holds
    // for 5 s after the first take), quick enough to wait for the refill.
    const spec = { capacity: 2, refillPerMinute: 12 };
    expect((await one.take('key:refill', spec)).allowed).toBe(true);
    expect((await one.take('key:refill', spec)).allowed).toBe(true);
    const refused = await two.take('key:refill', spec);
    expect(refused).toMatchObject({ allowed: false, remaining: 0 });
    expect(refused.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect(refused.retryAfterSeconds).toBeLessThanOrEqual(5);
    // The idle bucket expires 1 s after it would be full again: 2 tokens (10 s) + 1 s from the first take.
    const ttl = await raw.pTTL(`${prefix}rl:key:refill`);
    expect(ttl).toBeGreaterThan(11_000 - 5000);
    expect(ttl).toBeLessThanOrEqual(11_000);
    await waitFor('a token refilled', async () => ((await two.take('key:refill', spec)).allowed ? true : undefined));
  });

  it('sends the script again when Redis does not know it (NOSCRIPT)', async () => {
    await raw.scriptFlush();
    expect((await one.take('key:flushed', { capacity: 1, refillPerMinute: 1 })).allowed).toBe(true);
    expect((await two.take('key:flushed', { capacity: 1, refillPerMinute: 1 })).allowed).toBe(false);
  });

  it('fails loudly with onError: throw, and falls back to memory by default', async () => {
    const failing = await RedisRateLimiter.connect(REDIS_URL, { prefix, onError: 'throw' });
    await failing.close();
    await expect(failing.take('k', { capacity: 1, refillPerMinute: 1 })).rejects.toMatchObject({ code: 'TWL_CACHE_UNAVAILABLE' });
    const degrading = await RedisRateLimiter.connect(REDIS_URL, { prefix, logger: quietLogger() });
    await degrading.close();
    expect((await degrading.take('k', { capacity: 1, refillPerMinute: 1 })).allowed).toBe(true);
    expect((await degrading.take('k', { capacity: 1, refillPerMinute: 1 })).allowed).toBe(false);
    expect(degrading.lastError).toBeTruthy();
  });

  it('says which Redis is unreachable', async () => {
    await expect(RedisRateLimiter.connect('redis://127.0.0.1:1', {})).rejects.toMatchObject({ code: 'TWL_CACHE_UNAVAILABLE' });
  });
});
