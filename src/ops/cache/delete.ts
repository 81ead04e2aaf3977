import { z } from 'zod';
import { defineOp } from '../op.js';
import { cacheBackend, cacheKey } from './schemas.js';

export default defineOp({
  id: 'cache.delete',
  mcpName: 'cache_cache_delete',
  title: 'Delete a cached value',
  description: 'Removes a key. deleted says whether a live value was there.',
  input: z.object({ key: cacheKey }),
  output: z.object({ key: z.string(), deleted: z.boolean(), backend: cacheBackend }),
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
  policy: { minRole: 'operator', needsApproval: false, timeoutMs: 10_000 },
  async run(ctx, { key }) {
    const cache = await ctx.cache();
    return { key, deleted: await cache.delete(key), backend: cache.backend };
  },
});
