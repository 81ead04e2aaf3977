import { openStatuses } from '../agents/tickets/repo.js';
import { priorities } from '../agents/triage/taxonomy.js';
import type { Runtime } from '../runtime/context.js';

/** The window `performance` figures cover. */
const WINDOW_MS = 60_000;
/** A session with no request for this long counts as idle. */
const IDLE_MS = 60_000;

/**
 * What a server other than `twl serve` reports in place of the ticket queue and twl's cache
 * (`twl bridge`: its upstream's queue and cache): merged into the seed's sections.
 */
export interface StatusSections {
  queue: Record<string, unknown>;
  cache: Record<string, unknown>;
  /** Added to the `bridge` section; its `status` replaces healthy/degraded. */
  bridge?: Record<string, unknown>;
  /** Added to the `sessions` section (the MCP sessions are counted here). */
  sessions?: Record<string, unknown>;
  degraded?: boolean;
}

/** One second of requests: how many, their total time and how many failed. */
interface Second {
  at: number;
  count: number;
  totalMs: number;
  errors: number;
}

/**
 * What `/mcp/status` reports, in the seed's shape (bridge, sessions, queue, cache,
 * performance), from figures the server keeps itself: requests of the last minute (in
 * per-second buckets, so memory stays flat whatever the load), sessions and their last
 * activity, calls in flight, the ticket queue and the cache's own counters.
 */
export class StatusTracker {
  private readonly seconds: Second[] = [];
  private readonly lastSeen = new Map<string, number>();
  private sessionsOpened = 0;
  private inFlight = 0;
  readonly started = Date.now();

  /** Counts a request from start to finish (`ok`: not a 5xx). */
  begin(): (ok: boolean) => void {
    const at = Date.now();
    this.inFlight++;
    return (ok) => {
      this.inFlight--;
      const now = Date.now();
      const second = Math.floor(now / 1000) * 1000;
      let bucket = this.seconds.at(-1);
      if (bucket?.at !== second) {
        this.seconds.push((bucket = { at: second, count: 0, totalMs: 0, errors: 0 }));
        this.prune(now);
      }
      bucket.count++;
      bucket.totalMs += now - at;
      if (!ok) bucket.errors++;
    };
  }

  sessionOpened(id: string): void {
    this.sessionsOpened++;
    this.lastSeen.set(id, Date.now());
  }

  sessionSeen(id: string): void {
    if (this.lastSeen.has(id)) this.lastSeen.set(id, Date.now());
  }

  sessionClosed(id: string): void {
    this.lastSeen.delete(id);
  }

  private prune(now: number): void {
    let drop = 0;
    while (drop < this.seconds.length && this.seconds[drop]!.at < now - WINDOW_MS) drop++;
    if (drop) this.seconds.splice(0, drop);
  }

  async report(runtime: Runtime, version: string, sections?: () => Promise<StatusSections>): Promise<Record<string, unknown>> {
    const now = Date.now();
    this.prune(now);
    const idle = [...this.lastSeen.values()].filter((seen) => now - seen > IDLE_MS).length;
    const window = Math.min(WINDOW_MS, now - this.started) / 1000;
    const requests = this.seconds.reduce((sum, b) => sum + b.count, 0);
    const errors = this.seconds.reduce((sum, b) => sum + b.errors, 0);
    const totalMs = this.seconds.reduce((sum, b) => sum + b.totalMs, 0);
    const own = sections ? await sections() : undefined;
    const [queue, cache] = own ? [own.queue, own.cache] : await Promise.all([ticketQueue(runtime), cacheFigures(runtime)]);
    const failed = own?.degraded ?? [queue, cache].some((part) => 'error' in part);
    return {
      bridge: { status: failed ? 'degraded' : 'healthy', version, uptime_seconds: Math.round((now - this.started) / 1000), ...(own ? own.bridge : { store: runtime.config.database.url ? 'postgres' : 'embedded' }) },
      sessions: { active: this.lastSeen.size, total: this.sessionsOpened, by_status: { active: this.lastSeen.size - idle, idle }, ...own?.sessions },
      queue: { ...queue, in_flight_requests: this.inFlight },
      cache,
      performance: {
        window_seconds: Math.round(window),
        requests,
        avg_response_time_ms: requests ? Math.round((totalMs / requests) * 10) / 10 : null,
        requests_per_second: window > 0 ? Math.round((requests / window) * 100) / 100 : 0,
        error_rate: requests ? Math.round((errors / requests) * 1000) / 1000 : 0,
      },
    };
  }
}

/** Tickets waiting for work (`pending`), being worked (`processing`), and the open ones by priority. */
async function ticketQueue(runtime: Runtime): Promise<Record<string, unknown>> {
  const waiting = ['new', 'triaged', 'reopened', 'waiting_approval'];
  // Escalated tickets wait for a human, outside the automated queue.
  const open = openStatuses.filter((s) => s !== 'escalated');
  try {
    const store = await runtime.store();
    const { rows } = await store.query<{ status: string; priority: string | null; n: string }>(
      'SELECT status, priority, count(*) AS n FROM twl_tickets WHERE status = ANY($1::text[]) GROUP BY status, priority',
      [open],
    );
    const byPriority = Object.fromEntries([...priorities.map((p) => [p, 0]), ['unset', 0]]) as Record<string, number>;
    let pending = 0;
    let processing = 0;
    for (const row of rows) {
      const n = Number(row.n);
      if (waiting.includes(row.status)) pending += n;
      else processing += n;
      byPriority[row.priority ?? 'unset'] = (byPriority[row.priority ?? 'unset'] ?? 0) + n;
    }
    return { pending, processing, by_priority: byPriority };
  } catch (err) {
    return { error: `The store is unreachable: ${(err as Error).message}` };
  }
}

/** The cache's own counters, as the seed names them. */
async function cacheFigures(runtime: Runtime): Promise<Record<string, unknown>> {
  try {
    const cache = await runtime.cache();
    const stats = await cache.stats();
    return { backend: stats.backend, hit_rate: stats.hitRate, size: stats.keys, evictions: stats.evictions, scope: stats.scope };
  } catch (err) {
    return { error: `The cache is unreachable: ${(err as Error).message}` };
  }
}
