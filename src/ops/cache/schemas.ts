import { z } from 'zod';

export const cacheKey = z
  .string()
  .min(1, 'expected a non-empty key')
  .max(1024, 'expected a key of at most 1024 characters')
  .describe('The cache key (without the Redis prefix).');

export const cacheBackend = z.enum(['redis', 'store']).describe('redis, or store: the TTL table in twl\'s store.');
