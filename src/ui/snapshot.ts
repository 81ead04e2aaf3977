import type { Ticket } from '../agents/tickets/repo.js';
import { messageOf } from '../runtime/errors.js';
import { table } from '../cli/render.js';
import { age, count, lastText, ms, percent, sparkline, untilText } from './format.js';
import type { AgentsView, DashSource, HealthView, LogEntry, Metrics, TasksView } from './source.js';

/** What `twl dash` prints once when stdout is not a terminal (and its --json result). */
export interface DashSnapshot {
  generatedAt: string;
  source: string;
  tickets: { open: number; total: number; byStatus: Record<string, number>; top: Ticket[] };
  metrics: Metrics | null;
  health: HealthView | null;
  agents: AgentsView | null;
  tasks: TasksView | null;
  events: LogEntry[];
  /** Panels that could not be read, with the reason (the rest is still shown). */
  errors: Record<string, string>;
}

/** Reads every panel once; a panel that fails is reported, not fatal. */
export async function takeSnapshot(source: DashSource, options: { limit: number; events?: number; tasks?: number }): Promise<DashSnapshot> {
  const errors: Record<string, string> = {};
  const guard = async <T>(name: string, p: Promise<T>): Promise<T | null> => {
    try {
      return await p;
    } catch (err) {
      errors[name] = messageOf(err);
      return null;
    }
  };
  // The ticket panel is the point of the dashboard: its failure is the command's failure.
  const [page, metrics, health, agents, events, tasks] = await Promise.all([
    source.tickets({ scope: 'open', offset: 0, limit: options.limit }),
    guard('metrics', source.metrics()),
    guard('health', source.health()),
    guard('agents', source.agents()),
    guard('events', source.events(undefined, options.events ?? 10)),
    guard('tasks', source.tasks(options.tasks ?? 10)),
  ]);
  const total = Object.values(page.byStatus).reduce((a, b) => a + b, 0);
  return {
    generatedAt: new Date().toISOString(),
    source: source.description,
    tickets: { open: page.total, total, byStatus: page.byStatus, top: page.tickets },
    metrics,
    health,
    agents,
    tasks,
    events: events ?? [],
    errors,
  };
}

/** The snapshot as plain text, no colour, for cron mail and scripts. */
export function snapshotText(s: DashSnapshot): string {
  const out: string[] = [];
  const statuses = Object.entries(s.tickets.byStatus)
    .sort(([, a], [, b]) => b - a)
    .map(([k, v]) => `${k} ${count(v)}`)
    .join(', ');
  out.push(`twl dash — ${s.source} — ${s.generatedAt}`);
  out.push('');
  out.push(`Tickets: ${count(s.tickets.open)} open of ${count(s.tickets.total)}${statuses ? ` (${statuses})` : ''}`);
  if (s.tickets.top.length) {
    out.push(
      table(
        ['id', 'priority', 'status', 'category', 'sentiment', 'age', 'agent', 'title'],
        s.tickets.top.map((t) => [`#${t.id}`, t.priority ?? '—', t.status, t.category ?? '—', t.sentiment ?? '—', age(t.createdAt), t.assignedAgent ?? '—', t.title]),
      ),
    );
    if (s.tickets.open > s.tickets.top.length) out.push(`(${s.tickets.top.length} most urgent of ${count(s.tickets.open)} open)`);
  } else out.push('No open tickets.');
  out.push('');
  if (s.metrics) {
    out.push(`Activity, last ${s.metrics.windowMinutes} min (every twl process): ${count(s.metrics.all.calls)} calls, p95 ${ms(s.metrics.all.p95Ms)}, errors ${percent(s.metrics.all.errorRate)}`);
    if (s.metrics.groups.length) {
      out.push(
        table(
          ['group', 'calls/min', 'p95', 'errors', `last ${s.metrics.windowMinutes} min`],
          s.metrics.groups.map((g) => [g.group, g.perMinute.at(-1) ?? 0, ms(g.p95Ms), percent(g.errorRate), sparkline(g.perMinute)]),
        ),
      );
    }
  } else out.push(`Activity: unavailable (${s.errors.metrics})`);
  out.push('');
  if (s.health) {
    const rows = [...s.health.services, ...s.health.dependencies];
    out.push(`Health: ${s.health.status}${s.health.services.length ? '' : ' (no services configured: services in the configuration)'}`);
    out.push(table(['name', 'kind', 'status', 'latency', 'detail'], rows.map((h) => [h.name, h.kind, h.status, ms(h.latencyMs), h.detail])));
  } else out.push(`Health: unavailable (${s.errors.health})`);
  out.push('');
  if (s.agents) {
    out.push(`Agents: LLM ${s.agents.llm.configured ? (s.agents.llm.reachable ? 'reachable' : 'unreachable') : 'not configured'}`);
    out.push(table(['agent', 'status', 'tools', 'detail'], s.agents.agents.map((a) => [a.name, a.status, a.tools, a.detail])));
  } else out.push(`Agents: unavailable (${s.errors.agents})`);
  out.push('');
  if (s.tasks) {
    out.push(`Tasks: ${Object.entries(s.tasks.byStatus).map(([k, v]) => `${k} ${count(v)}`).join(', ') || 'none'}`);
    if (s.tasks.tasks.length) out.push(table(['id', 'status', 'what', 'next run', 'last execution'], s.tasks.tasks.map((t) => [`#${t.id}`, t.status, t.name ?? t.what, untilText(t.nextRun), lastText(t.last)])));
  } else out.push(`Tasks: unavailable (${s.errors.tasks})`);
  if (s.events.length) {
    out.push('', 'Recent events:');
    out.push(table(['at', 'ticket', 'actor', 'event'], s.events.map((e) => [e.at.slice(11, 19), `#${e.ticketId}`, e.actor, `${e.kind}${e.decision ? `: ${e.decision}` : ''}`])));
  }
  return `${out.join('\n')}\n`;
}
