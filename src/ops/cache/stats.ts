import { z } from 'zod';
import { defineOp, readOnly } from '../op.js';
import { cacheBackend } from './schemas.js';

export default defineOp({
  id: 'cache.stats',
  mcpName: 'cache_cache_stats',
  title: 'Cache statistics',
  description: 'Hits, misses, hit rate, live keys, memory and evictions of the cache. On Redis the counters are the whole server\'s (scope: server).',
  input: z.object({}),
  output: z.object({
    backend: cacheBackend,
    location: z.string().describe('Redis URL (password hidden) or the store location.'),
    keys: z.number().int(),
    hits: z.number().int(),
    misses: z.number().int(),
    hitRate: z.number().nullable().describe('hits / (hits + misses), null before any lookup.'),
    memoryBytes: z.number().int().nullable(),
    scope: z.enum(['server', 'twl']),
    evictions: z.number().int().describe('Keys Redis dropped to make room (maxmemory); always 0 on the store, which never evicts.'),
  }),
  annotations: readOnly,
  policy: { minRole: 'viewer', needsApproval: false, timeoutMs: 10_000 },
  async run(ctx) {
    const cache = await ctx.cache();
    return { ...(await cache.stats()), location: cache.location };
  },
});
