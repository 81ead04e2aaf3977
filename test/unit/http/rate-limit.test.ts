import { afterEach, describe, expect, it, vi } from 'vitest';
import { MemoryRateLimiter, rateLimitHeaders, refill } from '../../../src/http/rate-limit.js';
import { allowedFor, assertRoleAllows, roleAllows } from '../../../src/http/roles.js';
import { bearerToken, keyPattern } from '../../../src/http/keys.js';
import { roles, type Role } from '../../../src/ops/op.js';
import { isTwlError } from '../../../src/runtime/errors.js';

const perMinute = (n: number) => ({ capacity: n, refillPerMinute: n });

describe('the in-memory token bucket', () => {
  afterEach(() => vi.useRealTimers());

  it('allows a full bucket, then refuses with Retry-After', async () => {
    let now = 1_000_000;
    const limiter = new MemoryRateLimiter({ now: () => now });
    const spec = perMinute(20);
    for (let i = 0; i < 20; i++) {
      const r = await limiter.take('ip:1.2.3.4', spec);
      expect(r).toEqual({ allowed: true, retryAfterSeconds: 0, remaining: 19 - i });
    }
    const refused = await limiter.take('ip:1.2.3.4', spec);
    // 20 a minute: one token every 3 s.
    expect(refused).toEqual({ allowed: false, retryAfterSeconds: 3, remaining: 0 });
    now += 1000;
    expect(await limiter.take('ip:1.2.3.4', spec)).toMatchObject({ allowed: false, retryAfterSeconds: 2 });
    now += 1999;
    expect(await limiter.take('ip:1.2.3.4', spec)).toMatchObject({ allowed: false, retryAfterSeconds: 1 });
    now += 1;
    expect(await limiter.take('ip:1.2.3.4', spec)).toEqual({ allowed: true, retryAfterSeconds: 0, remaining: 0 });
    expect((await limiter.take('ip:1.2.3.4', spec)).allowed).toBe(false);
  });

  it('refills continuously, never past the capacity', async () => {
    vi.useFakeTimers();
    vi.setSystemTime(new Date('2026-01-01T00:00:00Z'));
    const limiter = new MemoryRateLimiter(); // Date.now, driven by the fake timers
    const spec = { capacity: 5, refillPerMinute: 60 };
    for (let i = 0; i < 5; i++) expect((await limiter.take('k', spec)).allowed).toBe(true);
    expect((await limiter.take('k', spec)).allowed).toBe(false);
    vi.advanceTimersByTime(2500);
    expect(await limiter.take('k', spec)).toEqual({ allowed: true, retryAfterSeconds: 0, remaining: 1 });
    expect(await limiter.take('k', spec)).toEqual({ allowed: true, retryAfterSeconds: 0, remaining: 0 });
    expect(await limiter.take('k', spec)).toMatchObject({ allowed: false, retryAfterSeconds: 1 });
    vi.advanceTimersByTime(60 * 60_000);
    expect(await limiter.take('k', spec)).toEqual({ allowed: true, retryAfterSeconds: 0, remaining: 4 });
  });

  it('keeps buckets apart by key', async () => {
    const now = 0;
    const limiter = new MemoryRateLimiter({ now: () => now });
    const spec = { capacity: 1, refillPerMinute: 1 };
    expect((await limiter.take('a', spec)).allowed).toBe(true);
    expect(await limiter.take('a', spec)).toEqual({ allowed: false, retryAfterSeconds: 60, remaining: 0 });
    expect((await limiter.take('b', spec)).allowed).toBe(true);
  });

  it('takes a cost of several tokens, or none', async () => {
    let now = 0;
    const limiter = new MemoryRateLimiter({ now: () => now });
    const spec = { capacity: 10, refillPerMinute: 600 }; // 10 a second
    expect(await limiter.take('k', spec, 7)).toMatchObject({ allowed: true, remaining: 3 });
    expect(await limiter.take('k', spec, 5)).toMatchObject({ allowed: false, retryAfterSeconds: 1 });
    expect(await limiter.take('k', spec, 3)).toMatchObject({ allowed: true, remaining: 0 });
    now += 500;
    expect(await limiter.take('k', spec, 5)).toMatchObject({ allowed: true, remaining: 0 });
  });

  it('ignores a clock that goes backwards', async () => {
    let now = 100_000;
    const limiter = new MemoryRateLimiter({ now: () => now });
    const spec = { capacity: 2, refillPerMinute: 2 };
    await limiter.take('k', spec);
    await limiter.take('k', spec);
    now -= 50_000;
    expect((await limiter.take('k', spec)).allowed).toBe(false);
    expect(refill({ tokens: 0, at: 100_000 }, spec, 50_000)).toEqual({ tokens: 0, at: 100_000 });
  });

  it('forgets full and least recently used buckets past its bound', async () => {
    let now = 0;
    const limiter = new MemoryRateLimiter({ now: () => now, maxBuckets: 100 });
    const spec = { capacity: 1, refillPerMinute: 60 };
    for (let i = 0; i < 150; i++) await limiter.take(`ip:${i}`, spec);
    expect(limiter.size).toBeLessThanOrEqual(101);
    // The most recent buckets are kept: still empty.
    expect((await limiter.take('ip:149', spec)).allowed).toBe(false);
    now += 2000; // every bucket is full again: a sweep drops them all, and nothing changes for callers
    await limiter.take('new', spec);
    expect(limiter.size).toBe(1);
    expect((await limiter.take('ip:0', spec)).allowed).toBe(true);
  });

  it('refuses a nonsensical bucket', async () => {
    const limiter = new MemoryRateLimiter();
    await expect(limiter.take('k', { capacity: 0, refillPerMinute: 1 })).rejects.toMatchObject({ code: 'TWL_INPUT_INVALID' });
    await expect(limiter.take('k', { capacity: 1, refillPerMinute: 0 })).rejects.toMatchObject({ code: 'TWL_INPUT_INVALID' });
    await expect(limiter.take('k', { capacity: 1, refillPerMinute: 1 }, 2)).rejects.toMatchObject({ code: 'TWL_INPUT_INVALID' });
  });

  it('gives the HTTP headers', () => {
    expect(rateLimitHeaders({ allowed: false, retryAfterSeconds: 3, remaining: 0 }, perMinute(20))).toEqual({ 'Retry-After': '3', 'RateLimit-Limit': '20', 'RateLimit-Remaining': '0' });
    expect(rateLimitHeaders({ allowed: true, retryAfterSeconds: 0, remaining: 7 }, perMinute(20))).not.toHaveProperty('Retry-After');
  });
});

describe('roles', () => {
  it('orders viewer < operator < manager < admin', () => {
    const table = roles.map((min) => roles.map((have) => roleAllows(min, have)));
    expect(table).toEqual([
      [true, true, true, true],
      [false, true, true, true],
      [false, false, true, true],
      [false, false, false, true],
    ]);
    expect(roleAllows('viewer', 'root')).toBe(false);
    expect(roleAllows('viewer', undefined)).toBe(false);
  });

  it('shows a role only the ops it may call', () => {
    const ops = (['viewer', 'operator', 'manager', 'admin'] as Role[]).map((minRole) => ({ mcpName: `needs_${minRole}`, policy: { minRole } }));
    expect(allowedFor(ops, 'viewer').map((o) => o.mcpName)).toEqual(['needs_viewer']);
    expect(allowedFor(ops, 'manager').map((o) => o.mcpName)).toEqual(['needs_viewer', 'needs_operator', 'needs_manager']);
    expect(allowedFor(ops, 'admin')).toHaveLength(4);
    expect(allowedFor(ops, null)).toEqual([]);
    const commands = ops.map((op) => ({ op }));
    expect(allowedFor(commands, 'operator', (c) => c.op.policy.minRole)).toHaveLength(2);
  });

  it('refuses with TWL_POLICY_DENIED, naming the role needed', () => {
    expect(() => assertRoleAllows('viewer', 'viewer', 'x')).not.toThrow();
    try {
      assertRoleAllows('manager', 'operator', 'The tool real-backup_create_backup');
      expect.unreachable();
    } catch (err) {
      expect(isTwlError(err) && err.code).toBe('TWL_POLICY_DENIED');
      expect((err as Error).message).toMatch(/needs the manager role.*operator role/);
    }
  });
});

describe('bearer tokens', () => {
  it('reads the Authorization header', () => {
    expect(bearerToken('Bearer twl_abc')).toBe('twl_abc');
    expect(bearerToken('bearer   twl_abc ')).toBe('twl_abc');
    expect(bearerToken(['Bearer twl_x'])).toBe('twl_x');
    expect(bearerToken('Basic dXNlcjpwYXNz')).toBeUndefined();
    expect(bearerToken('Bearer a b')).toBeUndefined();
    expect(bearerToken(undefined)).toBeUndefined();
    expect(keyPattern.test(`twl_${'A'.repeat(43)}`)).toBe(true);
    expect(keyPattern.test(`twl_${'A'.repeat(42)}`)).toBe(false);
  });
});
