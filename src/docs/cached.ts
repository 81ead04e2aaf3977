import { createHash } from 'node:crypto';
import type { Cache } from '../runtime/cache.js';
import type { OpContext } from '../runtime/context.js';

/**
 * Served answers (resolve-library-id, query-docs) go through twl's cache (Redis or the store's
 * table) for docs.cacheTtl. Their keys carry a generation that every change of the index bumps,
 * so an answer never outlives the index it came from.
 */
const generationKey = 'twl:docs:generation';

export async function bumpGeneration(ctx: OpContext): Promise<void> {
  await bumpGenerationOf(await ctx.cache().catch(() => undefined));
}

/** A new generation: answers cached before are no longer found. A cache that is down cannot hold stale answers either. */
export async function bumpGenerationOf(cache: Cache | undefined): Promise<void> {
  await cache?.set(generationKey, `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`).catch(() => undefined);
}

/** The answer from the cache when there, else computed and stored; a cache that fails is bypassed, not fatal. */
export async function cachedAnswer<T>(ctx: OpContext, tool: string, input: unknown, compute: () => Promise<T>): Promise<{ value: T; cached: boolean }> {
  let cache;
  try {
    cache = await ctx.cache();
  } catch {
    return { value: await compute(), cached: false };
  }
  const generation = (await cache.get(generationKey).catch(() => undefined))?.value ?? '0';
  const key = `twl:docs:${tool}:${generation}:${createHash('sha256').update(JSON.stringify(input)).digest('hex').slice(0, 32)}`;
  const hit = await cache.get(key).catch(() => undefined);
  if (hit) return { value: JSON.parse(hit.value) as T, cached: true };
  const value = await compute();
  await cache.set(key, JSON.stringify(value), Math.max(1, Math.round(ctx.config.docs.cacheTtl / 1000))).catch(() => undefined);
  return { value, cached: false };
}
