import { z } from 'zod';
import { defineOp } from '../op.js';
import { cacheBackend, cacheKey } from './schemas.js';

export default defineOp({
  id: 'cache.set',
  mcpName: 'cache_cache_set',
  title: 'Set a cached value',
  description: 'Stores a string under a key, replacing any value there, optionally with a time to live in seconds.',
  input: z.object({
    key: cacheKey,
    value: z.string().max(1_048_576, 'expected a value of at most 1 MiB').describe('The value to store.'),
    ttl: z.number().int('expected a whole number of seconds').positive('expected a TTL of at least 1 second').max(31_536_000 * 10).optional().describe('Seconds until the key expires; none: it never expires.'),
  }),
  output: z.object({
    key: z.string(),
    stored: z.literal(true),
    ttl: z.number().int().nullable(),
    expiresAt: z.string().nullable().describe('ISO time of expiry, or null.'),
    backend: cacheBackend,
  }),
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
  policy: { minRole: 'operator', needsApproval: false, timeoutMs: 10_000 },
  async run(ctx, { key, value, ttl }) {
    const cache = await ctx.cache();
    await cache.set(key, value, ttl);
    return { key, stored: true as const, ttl: ttl ?? null, expiresAt: ttl ? new Date(Date.now() + ttl * 1000).toISOString() : null, backend: cache.backend };
  },
});
