import { z } from 'zod';
import { defineOp, readOnly } from '../op.js';
import { cacheBackend, cacheKey } from './schemas.js';

export default defineOp({
  id: 'cache.get',
  mcpName: 'cache_cache_get',
  title: 'Get a cached value',
  description: 'Returns the value stored under a key, with the seconds it has left to live. A missing or expired key returns found: false.',
  input: z.object({ key: cacheKey }),
  output: z.object({
    key: z.string(),
    found: z.boolean(),
    value: z.string().nullable(),
    ttl: z.number().int().nullable().describe('Seconds left; null when the key never expires or was not found.'),
    backend: cacheBackend,
  }),
  // A get counts a hit or a miss, but changes no data the caller sees.
  annotations: readOnly,
  policy: { minRole: 'viewer', needsApproval: false, timeoutMs: 10_000 },
  async run(ctx, { key }) {
    const cache = await ctx.cache();
    const entry = await cache.get(key);
    return { key, found: entry !== undefined, value: entry?.value ?? null, ttl: entry?.ttl ?? null, backend: cache.backend };
  },
});
