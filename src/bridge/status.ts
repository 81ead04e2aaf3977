/**
 * The bridge's /mcp/status sections and /health dependency, in the seed's shape, from what the
 * upstream reports of itself (children, queue, breaker, cache) and what the bridge counts (calls
 * in flight by priority, REST sessions).
 */
import type { StatusSections } from '../http/status.js';
import { upstreamHealth } from '../upstream/health.js';
import type { UpstreamStatus } from '../upstream/types.js';
import type { RestSessions } from './sessions.js';
import type { BridgeCatalog } from './tools.js';

const count = <T extends string>(keys: readonly T[], values: T[]): Record<T, number> => {
  const out = Object.fromEntries(keys.map((k) => [k, 0])) as Record<T, number>;
  for (const v of values) out[v] = (out[v] ?? 0) + 1;
  return out;
};

/** /mcp/status's queue, sessions, cache and bridge sections for `twl bridge`. */
export function bridgeSections(status: () => UpstreamStatus, catalog: BridgeCatalog, rest: RestSessions, idleAfterMs: number): () => Promise<StatusSections> {
  return async () => {
    const s = status();
    const health = upstreamHealth(s);
    const lookups = s.cache.l1Hits + s.cache.l2Hits + s.cache.misses;
    const restFigures = rest.figures(idleAfterMs);
    return {
      degraded: health !== 'ok',
      bridge: {
        status: health === 'ok' ? 'healthy' : health === 'down' ? 'down' : 'degraded',
        upstream: { name: s.name, transport: s.transport, sharing: s.sharing, state: s.state, breaker: s.breaker, restarts: s.restarts, ...(s.reason ? { reason: s.reason } : {}) },
      },
      sessions: {
        rest: restFigures,
        upstream_children: {
          total: s.children.length,
          by_state: count(['starting', 'ready', 'restarting', 'crash-loop', 'stopped'] as const, s.children.map((c) => c.state)),
          busy: s.children.filter((c) => c.inFlight > 0).length,
        },
      },
      queue: {
        pending: s.queue.waiting,
        processing: s.queue.running,
        capacity: s.queue.capacity,
        by_priority: catalog.inFlightByPriority(),
      },
      cache: {
        hit_rate: lookups ? Math.round(((s.cache.l1Hits + s.cache.l2Hits) / lookups) * 1000) / 1000 : null,
        size: s.cache.entries,
        hits: { l1: s.cache.l1Hits, l2: s.cache.l2Hits },
        misses: s.cache.misses,
      },
    };
  };
}
