import { z } from 'zod';
import { defineOp, readOnly } from '../op.js';
import { cacheBackend } from './schemas.js';

export default defineOp({
  id: 'cache.keys',
  mcpName: 'cache_cache_keys',
  title: 'List cache keys',
  description: 'Lists live keys matching a glob pattern (* any run, ? one character), sorted, up to a limit. Uses SCAN on Redis, never KEYS.',
  input: z.object({
    pattern: z.string().min(1).max(1024).default('*').describe('Glob pattern: * matches any run of characters, ? one character.'),
    limit: z.number().int().min(1).max(10_000).default(100).describe('At most this many keys (1–10000).'),
  }),
  output: z.object({
    pattern: z.string(),
    keys: z.array(z.string()),
    count: z.number().int(),
    truncated: z.boolean().describe('More keys match than the limit.'),
    backend: cacheBackend,
  }),
  annotations: readOnly,
  policy: { minRole: 'viewer', needsApproval: false, timeoutMs: 30_000 },
  async run(ctx, { pattern, limit }) {
    const cache = await ctx.cache();
    const { keys, truncated } = await cache.keys(pattern, limit);
    return { pattern, keys, count: keys.length, truncated, backend: cache.backend };
  },
});
