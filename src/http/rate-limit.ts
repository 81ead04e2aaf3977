import { createHash } from 'node:crypto';
import { TwlError, messageOf } from '../runtime/errors.js';
import type { Logger } from '../runtime/logger.js';
import type { RedisClient } from '../runtime/redis.js';

/**
 * Token buckets for the HTTP face: per key and per IP. A bucket holds up to `capacity` tokens and
 * gains `refillPerMinute` a minute (continuously); each request takes one. In memory for one
 * process, in Redis (one atomic script) when replicas must share them.
 */

export interface BucketSpec {
  /** The burst: tokens a full bucket holds. */
  capacity: number;
  /** The sustained rate. */
  refillPerMinute: number;
}

export interface TakeResult {
  allowed: boolean;
  /** 0 when allowed; otherwise whole seconds until a token is there (the `Retry-After` header). */
  retryAfterSeconds: number;
  /** Whole tokens left after this request. */
  remaining: number;
}

export interface RateLimiter {
  readonly backend: 'memory' | 'redis';
  /** Takes `cost` tokens (default 1) from the bucket `key`, or none when there are not enough. */
  take(key: string, spec: BucketSpec, cost?: number): Promise<TakeResult>;
  close(): Promise<void>;
}

/** The seed's default for unauthenticated routes, per IP. */
export const defaultIpBucket: BucketSpec = { capacity: 20, refillPerMinute: 20 };
/** A proposed default per API key. */
export const defaultKeyBucket: BucketSpec = { capacity: 120, refillPerMinute: 120 };

function checkSpec(spec: BucketSpec, cost: number): void {
  if (!(Number.isFinite(spec.capacity) && spec.capacity >= 1)) throw new TwlError('TWL_INPUT_INVALID', `A rate-limit capacity must be at least 1, got ${spec.capacity}.`);
  if (!(Number.isFinite(spec.refillPerMinute) && spec.refillPerMinute > 0)) throw new TwlError('TWL_INPUT_INVALID', `A rate-limit refill must be above 0 a minute, got ${spec.refillPerMinute}.`);
  if (!(Number.isFinite(cost) && cost > 0 && cost <= spec.capacity)) throw new TwlError('TWL_INPUT_INVALID', `A rate-limit cost must be above 0 and at most the capacity (${spec.capacity}), got ${cost}.`);
}

/** The bucket arithmetic, shared by the in-memory limiter and mirrored by the Lua script. */
export function refill(state: { tokens: number; at: number } | undefined, spec: BucketSpec, now: number): { tokens: number; at: number } {
  if (!state) return { tokens: spec.capacity, at: now };
  const perMs = spec.refillPerMinute / 60_000;
  // A clock that went backwards adds nothing (and does not move the bucket's time back).
  const elapsed = Math.max(0, now - state.at);
  return { tokens: Math.min(spec.capacity, state.tokens + elapsed * perMs), at: Math.max(now, state.at) };
}

/** Whole ms until `missing` tokens have dripped in (less a hair of float error), then whole seconds, at least 1. */
const waitMs = (missing: number, perMs: number) => Math.ceil(missing / perMs - 1e-6);
const waitSeconds = (missing: number, spec: BucketSpec) => Math.max(1, Math.ceil(waitMs(missing, spec.refillPerMinute / 60_000) / 1000));

/** Buckets in this process only: right for one `twl serve`, not for replicas. */
export class MemoryRateLimiter implements RateLimiter {
  readonly backend = 'memory' as const;
  private readonly buckets = new Map<string, { tokens: number; at: number; fullAt: number }>();
  private calls = 0;

  constructor(
    private readonly options: {
      /** The clock, in ms (default Date.now, so vitest's fake timers drive it). */
      now?: () => number;
      /** Most buckets kept; past it, full buckets go first, then the least recently used. */
      maxBuckets?: number;
    } = {},
  ) {}

  private now(): number {
    return this.options.now ? this.options.now() : Date.now();
  }

  get size(): number {
    return this.buckets.size;
  }

  async take(key: string, spec: BucketSpec, cost = 1): Promise<TakeResult> {
    return this.takeSync(key, spec, cost);
  }

  takeSync(key: string, spec: BucketSpec, cost = 1): TakeResult {
    checkSpec(spec, cost);
    const now = this.now();
    const state = refill(this.buckets.get(key), spec, now);
    let result: TakeResult;
    if (state.tokens >= cost) {
      state.tokens -= cost;
      result = { allowed: true, retryAfterSeconds: 0, remaining: Math.floor(state.tokens + 1e-9) };
    } else {
      result = { allowed: false, retryAfterSeconds: waitSeconds(cost - state.tokens, spec), remaining: 0 };
    }
    const fullAt = state.at + ((spec.capacity - state.tokens) / spec.refillPerMinute) * 60_000;
    // Re-inserted so the Map's order is least recently used first.
    this.buckets.delete(key);
    this.buckets.set(key, { ...state, fullAt });
    if (++this.calls % 1000 === 0 || this.buckets.size > (this.options.maxBuckets ?? 100_000)) this.sweep(now);
    return result;
  }

  /** Drops buckets that are full again: a missing bucket is a full one, so nothing changes for callers. */
  private sweep(now: number): void {
    for (const [key, bucket] of this.buckets) if (bucket.fullAt <= now) this.buckets.delete(key);
    const max = this.options.maxBuckets ?? 100_000;
    // Still too many (a flood of distinct IPs): forget the least recently used ones.
    for (const key of this.buckets.keys()) {
      if (this.buckets.size <= max) break;
      this.buckets.delete(key);
    }
  }

  async close(): Promise<void> {
    this.buckets.clear();
  }
}

/**
 * One bucket, atomically: refill by the time elapsed (Redis's own clock, so replicas with skewed
 * clocks agree), take the cost if there is enough, and let an idle bucket expire once it would be
 * full again. Replies {allowed 0|1, ms to wait, tokens left as a string (Lua numbers become integers)}.
 */
export const tokenBucketScript = `
local capacity = tonumber(ARGV[1])
local perMs = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1])
local at = tonumber(state[2])
if tokens == nil or at == nil then
  tokens = capacity
  at = now
end
if now > at then
  tokens = math.min(capacity, tokens + (now - at) * perMs)
  at = now
end
local allowed = 0
local wait = 0
if tokens >= cost then
  tokens = tokens - cost
  allowed = 1
else
  wait = math.ceil((cost - tokens) / perMs - 0.000001)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(at))
redis.call('PEXPIRE', KEYS[1], math.ceil((capacity - tokens) / perMs) + 1000)
return {allowed, wait, tostring(tokens)}
`;

const scriptSha = createHash('sha1').update(tokenBucketScript).digest('hex');

export interface RedisRateLimiterOptions {
  /** Before every bucket key (default `twl:`, as redis.prefix); buckets are `<prefix>rl:<key>`. */
  prefix?: string;
  logger?: Logger;
  /**
   * When Redis fails mid-flight: `memory` (default) answers from an in-process limiter and logs a
   * warning (once a minute), so an outage degrades to per-replica limits instead of refusing every
   * request; `throw` fails the call with TWL_CACHE_UNAVAILABLE.
   */
  onError?: 'memory' | 'throw';
}

/** Buckets in Redis, shared by every replica that uses the same server and prefix. */
export class RedisRateLimiter implements RateLimiter {
  readonly backend = 'redis' as const;
  private readonly fallback = new MemoryRateLimiter();
  private lastWarning = 0;
  /** The last Redis failure, for /health (cleared by the next success). */
  lastError: string | undefined;

  private constructor(
    private readonly client: RedisClient,
    readonly location: string,
    private readonly options: RedisRateLimiterOptions,
    private readonly ownsClient: boolean,
  ) {}

  /**
   * Connects for a long-running server: the first connection fails fast (TWL_CACHE_UNAVAILABLE);
   * after that the client reconnects with a backoff, and calls made while it is down fail at once
   * rather than queue (then `onError` applies).
   */
  static async connect(url: string, options: RedisRateLimiterOptions = {}): Promise<RedisRateLimiter> {
    const { connectRedis } = await import('../runtime/redis.js');
    const { client, location } = await connectRedis(url, 'rate limits', options.logger);
    return new RedisRateLimiter(client, location, options, true);
  }

  /** Uses a client the caller connected (and closes it itself). */
  static withClient(client: RedisClient, location: string, options: RedisRateLimiterOptions = {}): RedisRateLimiter {
    return new RedisRateLimiter(client, location, options, false);
  }

  private async evaluate(key: string, args: string[]): Promise<unknown> {
    const call = { keys: [key], arguments: args };
    try {
      return await this.client.evalSha(scriptSha, call);
    } catch (err) {
      // First use on this server (or after SCRIPT FLUSH / a restart): send the script itself, once.
      if (!/NOSCRIPT/i.test(messageOf(err))) throw err;
      return this.client.eval(tokenBucketScript, call);
    }
  }

  async take(key: string, spec: BucketSpec, cost = 1): Promise<TakeResult> {
    checkSpec(spec, cost);
    const bucket = `${this.options.prefix ?? 'twl:'}rl:${key}`;
    try {
      const reply = (await this.evaluate(bucket, [String(spec.capacity), String(spec.refillPerMinute / 60_000), String(cost)])) as [number, number, string];
      this.lastError = undefined;
      const [allowed, waitMs, tokens] = reply;
      return Number(allowed) === 1
        ? { allowed: true, retryAfterSeconds: 0, remaining: Math.floor(Number(tokens) + 1e-9) }
        : { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(Number(waitMs) / 1000)), remaining: 0 };
    } catch (err) {
      this.lastError = messageOf(err);
      if (this.options.onError === 'throw') throw new TwlError('TWL_CACHE_UNAVAILABLE', `Redis at ${this.location} failed (rate limits): ${this.lastError}`, { cause: err });
      const now = Date.now();
      if (now - this.lastWarning > 60_000) {
        this.lastWarning = now;
        this.options.logger?.warn({ err: this.lastError }, `Redis at ${this.location} failed: rate limits are per process until it is back`);
      }
      return this.fallback.take(key, spec, cost);
    }
  }

  async close(): Promise<void> {
    await this.fallback.close();
    if (this.ownsClient) await this.client.close().catch(() => undefined);
  }
}

/** Redis when a URL is configured (replicas share buckets), memory otherwise. */
export async function openRateLimiter(options: { redisUrl?: string; prefix?: string; logger?: Logger; onError?: 'memory' | 'throw' } = {}): Promise<RateLimiter> {
  if (!options.redisUrl) return new MemoryRateLimiter();
  return RedisRateLimiter.connect(options.redisUrl, { prefix: options.prefix, logger: options.logger, onError: options.onError });
}

/** HTTP headers for a take result: `Retry-After` on a refusal, and the IETF draft's RateLimit fields. */
export function rateLimitHeaders(result: TakeResult, spec: BucketSpec): Record<string, string> {
  const headers: Record<string, string> = {
    'RateLimit-Limit': String(spec.capacity),
    'RateLimit-Remaining': String(result.remaining),
  };
  if (!result.allowed) headers['Retry-After'] = String(result.retryAfterSeconds);
  return headers;
}
