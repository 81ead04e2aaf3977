import type { createClient } from '../vendor/redis.js';
import { TwlError, messageOf } from './errors.js';
import type { Logger } from './logger.js';
import { redactUrl } from './redact.js';

export type RedisClient = ReturnType<typeof createClient>;

/** Longest wait between two reconnection attempts. */
const maxBackoffMs = 5000;

/**
 * A Redis client for twl's cache and rate limits. The first connection fails fast
 * (TWL_CACHE_UNAVAILABLE, so a CLI call never hangs on a dead server); once connected, a lost
 * connection is retried with a backoff (100 ms doubling, at most 5 s) for as long as the process
 * lives, and commands sent meanwhile fail at once instead of queueing.
 */
export async function connectRedis(url: string, what: string, logger?: Logger): Promise<{ client: RedisClient; location: string }> {
  const { createClient } = await import('../vendor/redis.js');
  const location = redactUrl(url);
  let connected = false;
  const client = createClient({
    url,
    disableOfflineQueue: true,
    socket: { connectTimeout: 3000, reconnectStrategy: (retries: number) => (connected ? Math.min(100 * 2 ** retries, maxBackoffMs) : false) },
  });
  let lastError: unknown;
  client.on('error', (err: unknown) => {
    lastError = err;
    logger?.debug({ err: messageOf(err) }, `redis error (${what})`);
  });
  client.on('reconnecting', () => logger?.debug(`redis: reconnecting (${what})`));
  client.on('ready', () => connected && logger?.info({ redis: location }, `redis: connected again (${what})`));
  try {
    await client.connect();
    connected = true;
  } catch (err) {
    throw new TwlError('TWL_CACHE_UNAVAILABLE', `Redis at ${location} is unreachable for ${what}: ${messageOf(lastError ?? err) || 'connection failed'}`, { cause: err });
  }
  return { client: client as RedisClient, location };
}
