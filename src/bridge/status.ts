/**
 * The bridge's /mcp/status sections and /health dependency, in the seed's shape, from what the
 * upstream reports of itself (children, queue, breaker, cache) and what the bridge counts (calls
 * in flight by priority, REST sessions).
 */
import type { StatusSections } from '../http/status.js';
import type { UpstreamStatus } from '../upstream/types.js';
import type { RestSessions } from './sessions.js';
import type { BridgeCatalog } from './tools.js';

export type DependencyStatus = 'ok' | 'degraded' | 'down';

/**
 * The upstream as a dependency: down while calls are refused (crash-loop, breaker open),
 * degraded while it (re)starts or its breaker tries one call, ok otherwise (a child reaped for
 * idleness is ok: it starts again on the next call).
 */
export function upstreamHealth(s: UpstreamStatus): DependencyStatus {
  if (s.state === 'crash-loop' || s.breaker === 'open') return 'down';
  if (s.state === 'restarting' || s.state === 'starting' || s.breaker === 'half-open') return 'degraded';
  return 'ok';
}

/** The upstream in /health's `dependencies`, with its reason when it is not ok. */
export function upstreamDependency(s: UpstreamStatus): Record<string, unknown> {
  const status = upstreamHealth(s);
  return {
    status,
    state: s.state,
    breaker: s.breaker,
    children: s.children.length,
    restarts: s.restarts,
    ...(s.reason && status !== 'ok' ? { reason: s.reason } : {}),
  };
}

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

/** One upstream in `twl serve`'s /mcp/status `upstreams` section: its state as it reports it (no configuration, so no secret). */
export function upstreamSection(s: UpstreamStatus): Record<string, unknown> {
  return {
    name: s.name,
    transport: s.transport,
    sharing: s.sharing,
    state: s.state,
    ...(s.reason ? { reason: s.reason } : {}),
    health: upstreamHealth(s),
    children: s.children.map((c) => ({ state: c.state, in_flight: c.inFlight, ...(c.pid ? { pid: c.pid } : {}) })),
    restarts: s.restarts,
    queue: s.queue,
    breaker: s.breaker,
    cache: s.cache,
  };
}

/**
 * One upstream among `twl serve`'s /health dependencies, in the health check's shape. Its target
 * is the transport, never the command or URL (either may carry a secret).
 */
export function upstreamHealthEntry(s: UpstreamStatus): { name: string; kind: string; target: string; status: DependencyStatus; latencyMs: null; detail: string } {
  const status = upstreamHealth(s);
  const detail = `${s.state}, breaker ${s.breaker}, ${s.children.length} child${s.children.length === 1 ? '' : 'ren'}, ${s.restarts} restart${s.restarts === 1 ? '' : 's'}${s.reason && status !== 'ok' ? `: ${s.reason}` : ''}`;
  return { name: `upstream:${s.name}`, kind: 'upstream', target: `${s.transport} (${s.sharing})`, status, latencyMs: null, detail };
}
