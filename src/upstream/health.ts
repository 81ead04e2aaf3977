/**
 * An upstream's health as a dependency, from what it reports of itself: for /health and
 * /mcp/status of `twl bridge` (its one upstream) and `twl serve` (every configured upstream).
 */
import type { UpstreamStatus } from './types.js';

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
