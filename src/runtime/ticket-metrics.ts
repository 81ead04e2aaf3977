import client from '../vendor/prom-client.js';
import type { Queryable } from '../store/types.js';
import type { Logger } from './logger.js';
import { registry } from './metrics.js';

/**
 * Ticket and task series for the dashboards and alert rules, read from the store when Prometheus
 * scrapes: tickets are created and resolved by every process (CLI, replicas, workers), and task
 * runs are executed by `twl worker` processes (whose own /metrics, with --metrics, shows each
 * worker's part only), so counters kept in one process would each see a part. Every replica sharing a store reports the same values:
 * dashboards aggregate them with max(), not sum(). A failing read leaves the series empty
 * rather than failing /metrics.
 */

/** Scrapes within this window share one read (several Prometheus servers, a dashboard refresh). */
const CACHE_MS = 5_000;
/** A read slower than this (a store in trouble) leaves the series as they are: /metrics must answer. */
const READ_TIMEOUT_MS = 2_000;

interface TicketFigures {
  byGroup: Array<{ status: string; category: string; sentiment: string; n: number }>;
  escalations: number;
  resolveSeconds: { p50: number | null; p90: number | null; n: number };
  tasks: Array<{ status: string; n: number }>;
  executions: Array<{ status: string; n: number }>;
}

/** The store the series read, once `twl serve --http` has one (watchTickets). */
let source: (() => Promise<TicketFigures | undefined>) | undefined;

export const tickets = new client.Gauge({
  name: 'twl_tickets',
  help: 'Tickets in the store now, by status, category and sentiment ("none" before triage). Same value on every replica of a store: aggregate with max.',
  labelNames: ['status', 'category', 'sentiment'],
  registers: [registry],
  async collect() {
    const f = await source?.();
    this.reset();
    for (const g of f?.byGroup ?? []) this.set({ status: g.status, category: g.category, sentiment: g.sentiment }, g.n);
  },
});

// The unlabelled series keep their last value when a read fails (a gauge reset to 0 would read as a drop).
export const ticketEscalations = new client.Gauge({
  name: 'twl_ticket_escalations',
  help: 'Escalations ever recorded on ticket timelines (only grows: use delta() over a window). Same value on every replica of a store: aggregate with max.',
  registers: [registry],
  async collect() {
    const f = await source?.();
    if (f) this.set(f.escalations);
  },
});

export const ticketsResolvedDay = new client.Gauge({
  name: 'twl_tickets_resolved_24h',
  help: 'Tickets resolved in the last 24 hours.',
  registers: [registry],
  async collect() {
    const f = await source?.();
    if (f) this.set(f.resolveSeconds.n);
  },
});

export const ticketResolveSeconds = new client.Gauge({
  name: 'twl_ticket_resolve_seconds',
  help: 'Time from creation to resolution of the tickets resolved in the last 24 hours, by quantile (0.5, 0.9); absent when none was.',
  labelNames: ['quantile'],
  registers: [registry],
  async collect() {
    const f = await source?.();
    this.reset();
    if (f?.resolveSeconds.p50 != null) this.set({ quantile: '0.5' }, Number(f.resolveSeconds.p50));
    if (f?.resolveSeconds.p90 != null) this.set({ quantile: '0.9' }, Number(f.resolveSeconds.p90));
  },
});

export const tasks = new client.Gauge({
  name: 'twl_tasks',
  help: 'Tasks in the store now, by status (queued, running, failed, dead_letter…). Same value on every replica of a store: aggregate with max.',
  labelNames: ['status'],
  registers: [registry],
  async collect() {
    const f = await source?.();
    this.reset();
    for (const g of f?.tasks ?? []) this.set({ status: g.status }, g.n);
  },
});

export const taskExecutions = new client.Gauge({
  name: 'twl_task_executions',
  help: 'Task runs (executions, one per attempt) recorded by the workers, by status: running now, and completed, failed, lost or cancelled ever (those only grow: use delta() over a window). Same value on every replica of a store: aggregate with max.',
  labelNames: ['status'],
  registers: [registry],
  async collect() {
    const f = await source?.();
    // Kept as they are when a read fails (a drop to 0 would read as a negative delta).
    if (!f) return;
    this.reset();
    for (const g of f.executions) this.set({ status: g.status }, g.n);
  },
});

async function readFigures(store: Queryable): Promise<TicketFigures> {
  const [groups, escalated, resolved, taskGroups, executionGroups] = await Promise.all([
    store.query<{ status: string; category: string; sentiment: string; n: number }>(
      `SELECT status, coalesce(category, 'none') AS category, coalesce(sentiment, 'none') AS sentiment, count(*)::int AS n FROM twl_tickets GROUP BY 1, 2, 3`,
    ),
    store.query<{ n: number }>(`SELECT count(*)::int AS n FROM twl_ticket_events WHERE kind = 'status' AND output->>'to' = 'escalated'`),
    store.query<{ p50: number | null; p90: number | null; n: number }>(
      `SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY s) AS p50, percentile_cont(0.9) WITHIN GROUP (ORDER BY s) AS p90, count(*)::int AS n
         FROM (SELECT extract(epoch FROM resolved_at - created_at)::float8 AS s FROM twl_tickets WHERE resolved_at > now() - interval '24 hours') r`,
    ),
    store.query<{ status: string; n: number }>(`SELECT status, count(*)::int AS n FROM twl_tasks GROUP BY 1`),
    store.query<{ status: string; n: number }>(`SELECT status, count(*)::int AS n FROM twl_task_executions GROUP BY 1`),
  ]);
  return {
    byGroup: groups.rows,
    escalations: escalated.rows[0]?.n ?? 0,
    resolveSeconds: resolved.rows[0] ?? { p50: null, p90: null, n: 0 },
    tasks: taskGroups.rows,
    executions: executionGroups.rows,
  };
}

/** Makes the ticket and task series read this store at each scrape (`twl serve --http`, once per process). */
export function watchTickets(store: Queryable, logger: Logger): void {
  let cached: { at: number; figures: Promise<TicketFigures | undefined> } | undefined;
  source = () => {
    if (!cached || Date.now() - cached.at > CACHE_MS) {
      cached = {
        at: Date.now(),
        figures: Promise.race([
          readFigures(store),
          new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no answer in ${READ_TIMEOUT_MS} ms`)), READ_TIMEOUT_MS).unref()),
        ]).catch((err: unknown) => {
          logger.debug({ err: (err as Error).message }, 'ticket and task metrics: the store could not be read');
          return undefined;
        }),
      };
    }
    return cached.figures;
  };
}
