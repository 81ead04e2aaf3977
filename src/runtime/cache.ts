import type { Store } from '../store/types.js';
import { TwlError, messageOf } from './errors.js';
import type { Logger } from './logger.js';
import type { RedisClient } from './redis.js';

export interface CacheEntry {
  value: string;
  /** Seconds left, or null when it never expires. */
  ttl: number | null;
}

export interface CacheStats {
  backend: 'redis' | 'store';
  keys: number;
  hits: number;
  misses: number;
  hitRate: number | null;
  memoryBytes: number | null;
  /** Whether hits, misses and keys count the whole Redis server or only twl's keys. */
  scope: 'server' | 'twl';
  /** Keys dropped to make room (Redis maxmemory); the store never evicts, keys leave only when they expire or are deleted. */
  evictions: number;
}

export interface Cache {
  readonly backend: 'redis' | 'store';
  readonly location: string;
  get(key: string): Promise<CacheEntry | undefined>;
  /** ttlSeconds undefined: no expiry. */
  set(key: string, value: string, ttlSeconds?: number): Promise<void>;
  delete(key: string): Promise<boolean>;
  /** Keys matching a glob pattern (`*`, `?`, `[abc]`), sorted, at most `limit`. */
  keys(pattern: string, limit: number): Promise<{ keys: string[]; truncated: boolean }>;
  stats(): Promise<CacheStats>;
  close(): Promise<void>;
}

/** A Redis-style glob to a LIKE pattern (with `\` as the escape). Character classes are not supported by LIKE: refuse them clearly. */
export function globToLike(glob: string): string {
  let out = '';
  for (let i = 0; i < glob.length; i++) {
    const ch = glob[i]!;
    if (ch === '\\' && i + 1 < glob.length) out += /[%_\\]/.test(glob[++i]!) ? `\\${glob[i]}` : glob[i];
    else if (ch === '*') out += '%';
    else if (ch === '?') out += '_';
    else if (ch === '[') throw new TwlError('TWL_INPUT_INVALID', `The pattern "${glob}" uses a character class ([…]), which the embedded cache does not support; use * and ? instead.`);
    else if (ch === '%' || ch === '_') out += `\\${ch}`;
    else out += ch;
  }
  return out;
}

const hitRate = (hits: number, misses: number) => (hits + misses === 0 ? null : Math.round((hits / (hits + misses)) * 10_000) / 10_000);

/** The embedded cache: a TTL table in twl's store, so values survive between CLI runs. */
export class StoreCache implements Cache {
  readonly backend = 'store' as const;
  constructor(private readonly store: Store) {}

  get location(): string {
    return this.store.location;
  }

  async get(key: string): Promise<CacheEntry | undefined> {
    // One round trip: read the live value and count the hit or the miss.
    const { rows } = await this.store.query<{ value: string | null; ttl: number | null }>(
      `WITH k AS (
         SELECT value, CASE WHEN expires_at IS NULL THEN NULL ELSE GREATEST(0, CEIL(EXTRACT(EPOCH FROM expires_at - now())))::int END AS ttl
         FROM twl_cache WHERE key = $1 AND (expires_at IS NULL OR expires_at > now())),
       s AS (UPDATE twl_cache_stats SET hits = hits + (SELECT count(*) FROM k), misses = misses + 1 - (SELECT count(*) FROM k) WHERE id = 1)
       SELECT (SELECT value FROM k) AS value, (SELECT ttl FROM k) AS ttl`,
      [key],
    );
    const row = rows[0];
    return row?.value == null ? undefined : { value: row.value, ttl: row.ttl };
  }

  async set(key: string, value: string, ttlSeconds?: number): Promise<void> {
    await this.store.query(
      `WITH purge AS (DELETE FROM twl_cache WHERE expires_at <= now() AND key <> $1)
       INSERT INTO twl_cache (key, value, expires_at, updated_at)
       VALUES ($1, $2, CASE WHEN $3::float8 IS NULL THEN NULL ELSE now() + make_interval(secs => $3::float8) END, now())
       ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, expires_at = EXCLUDED.expires_at, updated_at = now()`,
      [key, value, ttlSeconds ?? null],
    );
  }

  async delete(key: string): Promise<boolean> {
    const { rows } = await this.store.query<{ live: boolean }>('DELETE FROM twl_cache WHERE key = $1 RETURNING (expires_at IS NULL OR expires_at > now()) AS live', [key]);
    return rows[0]?.live === true;
  }

  async keys(pattern: string, limit: number): Promise<{ keys: string[]; truncated: boolean }> {
    const { rows } = await this.store.query<{ key: string }>(
      `SELECT key FROM twl_cache WHERE key LIKE $1 ESCAPE '\\' AND (expires_at IS NULL OR expires_at > now()) ORDER BY key LIMIT $2`,
      [globToLike(pattern), limit + 1],
    );
    return { keys: rows.slice(0, limit).map((r) => r.key), truncated: rows.length > limit };
  }

  async stats(): Promise<CacheStats> {
    const { rows } = await this.store.query<{ keys: string; bytes: string | null; hits: string; misses: string }>(
      `SELECT (SELECT count(*) FROM twl_cache WHERE expires_at IS NULL OR expires_at > now()) AS keys,
              (SELECT sum(octet_length(key) + octet_length(value)) FROM twl_cache WHERE expires_at IS NULL OR expires_at > now()) AS bytes,
              hits, misses FROM twl_cache_stats WHERE id = 1`,
    );
    const row = rows[0]!;
    const hits = Number(row.hits);
    const misses = Number(row.misses);
    return { backend: 'store', keys: Number(row.keys), hits, misses, hitRate: hitRate(hits, misses), memoryBytes: row.bytes === null ? 0 : Number(row.bytes), scope: 'twl', evictions: 0 };
  }

  async close(): Promise<void> {
    // The store belongs to the context; it closes it.
  }
}

const infoField = (info: string, field: string): number | null => {
  const match = new RegExp(`^${field}:(\\d+)`, 'm').exec(info);
  return match ? Number(match[1]) : null;
};

/** Escapes glob metacharacters so the prefix matches literally in SCAN MATCH. */
const escapeGlob = (text: string) => text.replace(/[*?[\]\\]/g, '\\$&');

/** Redis, with every key under a prefix so twl can share a server. */
export class RedisCache implements Cache {
  readonly backend = 'redis' as const;
  private constructor(
    private readonly client: RedisClient,
    readonly location: string,
    private readonly prefix: string,
  ) {}

  /** Connects (failing fast when Redis is down); a connection lost later is re-established with a backoff. */
  static async connect(url: string, prefix: string, logger: Logger): Promise<RedisCache> {
    const { connectRedis } = await import('./redis.js');
    const { client, location } = await connectRedis(url, 'the cache', logger);
    return new RedisCache(client, location, prefix);
  }

  private async call<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw new TwlError('TWL_CACHE_UNAVAILABLE', `Redis at ${this.location} failed: ${messageOf(err)}`, { cause: err });
    }
  }

  async get(key: string): Promise<CacheEntry | undefined> {
    const k = this.prefix + key;
    const [value, ttl] = await this.call(() => this.client.multi().get(k).ttl(k).exec());
    if (value === null || value === undefined) return undefined;
    const seconds = Number(ttl);
    return { value: String(value), ttl: seconds >= 0 ? seconds : null };
  }

  async set(key: string, value: string, ttlSeconds?: number): Promise<void> {
    const options = ttlSeconds === undefined ? undefined : { expiration: { type: 'PX' as const, value: Math.max(1, Math.round(ttlSeconds * 1000)) } };
    await this.call(() => this.client.set(this.prefix + key, value, options));
  }

  async delete(key: string): Promise<boolean> {
    return (await this.call(() => this.client.del(this.prefix + key))) > 0;
  }

  async keys(pattern: string, limit: number): Promise<{ keys: string[]; truncated: boolean }> {
    const found = new Set<string>();
    // SCAN, never KEYS: it does not block the server on a large keyspace.
    await this.call(async () => {
      for await (const batch of this.client.scanIterator({ MATCH: escapeGlob(this.prefix) + pattern, COUNT: 500 })) {
        for (const key of batch) found.add(String(key).slice(this.prefix.length));
        if (found.size > limit) break;
      }
    });
    const keys = [...found].sort();
    return { keys: keys.slice(0, limit), truncated: keys.length > limit };
  }

  async stats(): Promise<CacheStats> {
    const [stats, memory, keys] = await this.call(() => Promise.all([this.client.info('stats'), this.client.info('memory'), this.client.dbSize()]));
    const hits = infoField(stats, 'keyspace_hits') ?? 0;
    const misses = infoField(stats, 'keyspace_misses') ?? 0;
    return { backend: 'redis', keys: Number(keys), hits, misses, hitRate: hitRate(hits, misses), memoryBytes: infoField(memory, 'used_memory'), scope: 'server', evictions: infoField(stats, 'evicted_keys') ?? 0 };
  }

  async close(): Promise<void> {
    await this.client.close().catch(() => undefined);
  }
}
