import type { Ticket, TicketEvent } from '../agents/tickets/repo.js';
import type { Health, Status as HealthStatus } from '../agents/monitoring/health.js';

/** The dashboard's window on the metrics: per-minute buckets over the last 15 minutes. */
export const WINDOW_MINUTES = 15;

/** Statuses that still need someone: the default view of the ticket panel. */
export { openStatuses } from '../agents/tickets/repo.js';

export interface TicketQuery {
  /** Words in the title or text (the `/` filter). */
  text?: string;
  /** Open tickets only (default), or every ticket. */
  scope: 'open' | 'all';
  offset: number;
  limit: number;
}

export interface TicketPage {
  /** The rows asked for, sorted by priority then age. */
  tickets: Ticket[];
  /** How many match the query. */
  total: number;
  /** Every ticket in the store, by status. */
  byStatus: Record<string, number>;
  /** Tickets being worked on (in_progress, waiting_approval), by assigned agent. */
  byAgent: Record<string, number>;
}

/** One line of the event log: a step on some ticket's timeline. */
export interface LogEntry {
  id: number;
  at: string;
  ticketId: number;
  title: string;
  actor: string;
  kind: string;
  status: TicketEvent['status'];
  decision: string | null;
}

export interface GroupMetrics {
  /** The tool group: the part of the MCP name before the first underscore (`cache_cache_get` → cache). */
  group: string;
  /** Calls per minute, oldest first, WINDOW_MINUTES buckets (the last one is the last 60 s). */
  perMinute: number[];
  calls: number;
  errors: number;
  /** Errors / calls over the window (0 when no calls). */
  errorRate: number;
  /** p95 of the durations over the window, in ms (null when no calls). */
  p95Ms: number | null;
}

export interface Metrics {
  at: string;
  windowMinutes: number;
  /** Every group together. */
  all: GroupMetrics;
  groups: GroupMetrics[];
}

export interface HealthView {
  status: HealthStatus;
  checkedAt: string;
  services: Health[];
  dependencies: Health[];
}

export interface AgentView {
  name: string;
  status: 'ready' | 'degraded' | 'unavailable';
  detail: string;
  tools: number;
}

/** An agent of the studio (`twl agent create`): its place in the hierarchy and its lifecycle status. */
export interface StudioAgentView {
  name: string;
  kind: 'master' | 'supervisor' | 'worker';
  parent: string | null;
  status: 'pending_validation' | 'active' | 'busy' | 'inactive' | 'error';
  reason: string | null;
}

export interface AgentsView {
  llm: { configured: boolean; reachable: boolean; detail: string };
  agents: AgentView[];
  /** The studio's agents, below the built-in ones (absent: a server without them). */
  studio?: StudioAgentView[];
}

/** One row of the Tasks panel: a task, when it runs next, and its last execution. */
export interface TaskRow {
  id: number;
  name: string | null;
  /** What it runs: the tool's name, or its kind (agent, workflow). */
  what: string;
  status: string;
  reason: string | null;
  trigger: 'now' | 'at' | 'cron';
  cron: string | null;
  /** When it runs next (an --at time, the next cron tick), or null. */
  nextRun: string | null;
  last: { id: number; status: string; attempt: number; startedAt: string; endedAt: string | null } | null;
}

export interface TasksView {
  /** Running tasks first, then the newest. */
  tasks: TaskRow[];
  /** Tasks by status (every task in the store; over HTTP, the rows read). */
  byStatus: Record<string, number>;
}

export interface TicketDetail {
  ticket: Ticket;
  timeline: TicketEvent[];
}

export interface ResolveResult {
  ticketId: number;
  outcome: string;
  summary: string;
}

export interface ActionHooks {
  /** Answers the op's yes/no questions (the resolver's approvals) from the dashboard. */
  ask(question: string): Promise<boolean | undefined>;
  /** Progress of a long action, for the status line. */
  progress?(message: string): void;
  warn?(message: string): void;
}

/**
 * Where the dashboard's data comes from. The store implementation reads twl's own store
 * through the Runtime; an HTTP implementation (against `twl serve --http`) can be added
 * behind the same interface when that server exists.
 */
export interface DashSource {
  /** Said in the header: `embedded store at …`, `PostgreSQL at …`. */
  readonly description: string;
  tickets(query: TicketQuery): Promise<TicketPage>;
  ticket(id: number): Promise<TicketDetail>;
  /** The newest events (no afterId), or the ones after afterId, oldest first. */
  events(afterId: number | undefined, limit: number): Promise<LogEntry[]>;
  metrics(): Promise<Metrics>;
  health(): Promise<HealthView>;
  agents(): Promise<AgentsView>;
  /**
   * Calls onChange (coalesced) when tickets or their timelines change, in this process or
   * another one; resolves with the unsubscribe once it watches (a change made after that is told).
   */
  watch(onChange: () => void): Promise<() => Promise<void>>;
  /** The Tasks panel: up to `limit` tasks, running ones first, each with its next run and last execution. */
  tasks(limit: number): Promise<TasksView>;
  /**
   * Calls onChange when a task or an execution changes status, from the studio's change feed
   * (twl_events); resolves with the unsubscribe once it watches (a change made after that is told).
   */
  watchTasks(onChange: () => void): Promise<() => Promise<void>>;
  /** Runs the resolve op on a ticket; its approvals go through hooks.ask. */
  resolve(id: number, hooks: ActionHooks): Promise<ResolveResult>;
  /** Runs the create op. */
  create(text: string, hooks: ActionHooks): Promise<Ticket>;
  close(): Promise<void>;
}

/** Buckets of per-minute counts from (ago → count) pairs; ago 0 is the newest minute. */
export function bucketsFrom(pairs: Array<{ ago: number; calls: number }>, minutes = WINDOW_MINUTES): number[] {
  const out = new Array<number>(minutes).fill(0);
  for (const { ago, calls } of pairs) if (ago >= 0 && ago < minutes) out[minutes - 1 - ago]! += calls;
  return out;
}

export const emptyGroup = (group: string): GroupMetrics => ({ group, perMinute: new Array<number>(WINDOW_MINUTES).fill(0), calls: 0, errors: 0, errorRate: 0, p95Ms: null });
