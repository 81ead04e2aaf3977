import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Cache } from '../../src/runtime/cache.js';
import { cacheBackends, unique } from './backends.js';

describe.each(cacheBackends)('cache on $name', (backend) => {
  let cache: Cache;
  let done: () => Promise<void>;

  beforeAll(async () => {
    if (!backend.available) return;
    ({ cache, done } = await backend.open());
  });
  afterAll(async () => done?.());

  it.skipIf(!backend.available)('sets, gets and deletes', async () => {
    const key = unique('greeting');
    expect(await cache.get(key)).toBeUndefined();
    await cache.set(key, 'hello');
    expect(await cache.get(key)).toEqual({ value: 'hello', ttl: null });
    await cache.set(key, 'bonjour');
    expect((await cache.get(key))?.value).toBe('bonjour');
    expect(await cache.delete(key)).toBe(true);
    expect(await cache.delete(key)).toBe(false);
    expect(await cache.get(key)).toBeUndefined();
  });

  it.skipIf(!backend.available)('expires a key after its TTL', async () => {
    const key = unique('short');
    await cache.set(key, 'v', 1);
    const entry = await cache.get(key);
    expect(entry?.value).toBe('v');
    expect(entry?.ttl).toBeGreaterThanOrEqual(0);
    expect(entry?.ttl).toBeLessThanOrEqual(1);
    await sleep(1300);
    expect(await cache.get(key)).toBeUndefined();
    expect((await cache.keys(`${key}*`, 10)).keys).toEqual([]);
  });

  it.skipIf(!backend.available)('lists keys by glob pattern with a limit', async () => {
    const ns = unique('ns');
    for (const k of ['a1', 'a2', 'a3', 'b1', '100%']) await cache.set(`${ns}:${k}`, k);
    expect((await cache.keys(`${ns}:a*`, 10)).keys).toEqual([`${ns}:a1`, `${ns}:a2`, `${ns}:a3`]);
    expect((await cache.keys(`${ns}:?1`, 10)).keys).toEqual([`${ns}:a1`, `${ns}:b1`]);
    const limited = await cache.keys(`${ns}:*`, 2);
    expect(limited.keys).toHaveLength(2);
    expect(limited.truncated).toBe(true);
    // % is literal in a glob, not a LIKE wildcard.
    expect((await cache.keys(`${ns}:100%`, 10)).keys).toEqual([`${ns}:100%`]);
    expect((await cache.keys(`${ns}:1%`, 10)).keys).toEqual([]);
  });

  it.skipIf(!backend.available)('counts hits and misses', async () => {
    const key = unique('counted');
    const before = await cache.stats();
    await cache.set(key, 'x');
    await cache.get(key);
    await cache.get(unique('absent'));
    const after = await cache.stats();
    expect(after.hits - before.hits).toBeGreaterThanOrEqual(1);
    expect(after.misses - before.misses).toBeGreaterThanOrEqual(1);
    expect(after.keys).toBeGreaterThanOrEqual(1);
    expect(after.memoryBytes).toBeGreaterThan(0);
    if (after.scope === 'twl') {
      expect(after.hits - before.hits).toBe(1);
      expect(after.misses - before.misses).toBe(1);
    }
  });
});
