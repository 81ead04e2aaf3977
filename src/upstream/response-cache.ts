import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { Cache } from '../runtime/cache.js';
import type { Logger } from '../runtime/logger.js';
import { upstreamCache } from '../runtime/metrics.js';
import type { UpstreamConfig } from './config.js';
import { globMatch } from './tools.js';
import type { CallToolResult } from './types.js';

interface Entry {
  result: CallToolResult;
  /** Epoch ms when it was stored. */
  at: number;
}

/** JSON with object keys sorted, so `{a,b}` and `{b,a}` are the same call. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
  entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/** A short, fixed-size key for a call: the tool, its arguments, and the session in isolated sharing. */
export const callKey = (tool: string, args: Record<string, unknown>, sessionKey = ''): string =>
  createHash('sha256').update(tool).update('\0').update(sessionKey).update('\0').update(canonicalJson(args)).digest('base64url');

/**
 * Results of read-only tools, by per-tool TTL policy (`cache:` globs of the upstream entry): L1 in
 * memory (lru-cache), L2 in twl's Cache (Redis, or the embedded store), so several twl processes
 * and restarts share it. An entry lives `ttl + staleIfError`: fresh for `ttl`, then only served
 * when the upstream fails (serve-stale fallback).
 */
export class ResponseCache {
  readonly stats = { l1Hits: 0, l2Hits: 0, misses: 0 };
  private readonly l1 = new LRUCache<string, Entry>({ max: 2000, maxSize: 64 * 1024 * 1024, sizeCalculation: (e) => Math.max(1, JSON.stringify(e.result).length) });
  private l2?: Promise<Cache | undefined>;

  constructor(
    private readonly config: UpstreamConfig,
    private readonly logger: Logger,
    private readonly openL2?: () => Promise<Cache>,
  ) {}

  get entries(): number {
    return this.l1.size;
  }

  /** The cache policy for a tool, if any glob matches it. */
  policy(tool: string): { ttl: number; staleIfError: number } | undefined {
    for (const [glob, policy] of Object.entries(this.config.cache)) if (globMatch(tool, glob)) return policy;
    return undefined;
  }

  private cache(): Promise<Cache | undefined> {
    if (!this.openL2) return Promise.resolve(undefined);
    // A cache that cannot be opened degrades to L1 only, loudly once.
    this.l2 ??= this.openL2().catch((err: unknown) => {
      this.logger.warn({ upstream: this.config.name, err: (err as Error).message }, 'upstream response cache: L2 unavailable, using memory only');
      return undefined;
    });
    return this.l2;
  }

  private l2Key = (key: string) => `upstream:${this.config.name}:${key}`;

  /** A fresh entry (within ttl), from L1 then L2; `maxAge` widens it (serve stale). */
  async get(key: string, maxAge: number): Promise<CallToolResult | undefined> {
    const now = Date.now();
    const local = this.l1.get(key);
    if (local && now - local.at <= maxAge) {
      this.stats.l1Hits++;
      upstreamCache.inc({ upstream: this.config.name, level: 'l1', result: 'hit' });
      return local.result;
    }
    upstreamCache.inc({ upstream: this.config.name, level: 'l1', result: 'miss' });
    const l2 = await this.cache();
    if (l2) {
      try {
        const found = await l2.get(this.l2Key(key));
        const entry = found ? (JSON.parse(found.value) as Entry) : undefined;
        if (entry && now - entry.at <= maxAge) {
          this.stats.l2Hits++;
          upstreamCache.inc({ upstream: this.config.name, level: 'l2', result: 'hit' });
          this.l1.set(key, entry, { ttl: Math.max(1, maxAge - (now - entry.at)) });
          return entry.result;
        }
        upstreamCache.inc({ upstream: this.config.name, level: 'l2', result: 'miss' });
      } catch (err) {
        this.logger.debug({ upstream: this.config.name, err: (err as Error).message }, 'upstream response cache: L2 read failed');
      }
    }
    this.stats.misses++;
    return undefined;
  }

  async set(key: string, result: CallToolResult, policy: { ttl: number; staleIfError: number }): Promise<void> {
    const entry: Entry = { result, at: Date.now() };
    const life = policy.ttl + policy.staleIfError;
    this.l1.set(key, entry, { ttl: life });
    const l2 = await this.cache();
    if (!l2) return;
    await l2.set(this.l2Key(key), JSON.stringify(entry), Math.max(1, Math.ceil(life / 1000))).catch((err: unknown) => {
      this.logger.debug({ upstream: this.config.name, err: (err as Error).message }, 'upstream response cache: L2 write failed');
    });
  }

  clear(): void {
    this.l1.clear();
  }
}
