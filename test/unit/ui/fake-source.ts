import type { Ticket, TicketEvent } from '../../../src/agents/tickets/repo.js';
import { emptyGroup, openStatuses, type ActionHooks, type AgentsView, type DashSource, type HealthView, type LogEntry, type Metrics, type ResolveResult, type TasksView, type TicketDetail, type TicketPage, type TicketQuery } from '../../../src/ui/source.js';

const rank: Record<string, number> = { urgent: 0, high: 1, medium: 2, low: 3 };
const base = Date.parse('2026-03-01T10:00:00Z');

export function ticket(id: number, patch: Partial<Ticket> = {}): Ticket {
  const at = new Date(base + id * 60_000).toISOString();
  return {
    id,
    title: `Ticket ${id}`,
    text: `Text of ticket ${id}`,
    requester: null,
    source: 'cli',
    status: 'new',
    category: null,
    priority: null,
    sentiment: null,
    urgency: null,
    confidence: null,
    needsHuman: false,
    assignedAgent: null,
    resolution: null,
    escalationReason: null,
    createdAt: at,
    updatedAt: at,
    resolvedAt: null,
    closedAt: null,
    ...patch,
  };
}

/**
 * An in-memory DashSource: what the store source does (sort by priority then age, open
 * scope, text filter, watch), with calls recorded so tests can assert on them.
 */
export class FakeSource implements DashSource {
  readonly description = 'fake store';
  tickets_: Ticket[] = [];
  timeline = new Map<number, TicketEvent[]>();
  log: LogEntry[] = [];
  metricsValue: Metrics = { at: new Date(base).toISOString(), windowMinutes: 15, all: emptyGroup('all'), groups: [] };
  healthValue: HealthView = { status: 'ok', checkedAt: new Date(base).toISOString(), services: [], dependencies: [{ name: 'twl-store', kind: 'store', target: 'embedded', status: 'ok', latencyMs: 1.2, detail: 'embedded' }] };
  agentsValue: AgentsView = { llm: { configured: false, reachable: false, detail: 'no LLM' }, agents: [{ name: 'real-resolver', status: 'ready', detail: 'ready', tools: 1 }] };
  tasksValue: TasksView = { tasks: [], byStatus: {} };
  queries: TicketQuery[] = [];
  calls = { tasks: 0, metrics: 0, health: 0, agents: 0, resolve: [] as number[], create: [] as string[] };
  private listeners = new Set<() => void>();
  /** What resolve asks through hooks.ask before it resolves (the resolver's approvals). */
  resolveQuestions: string[] = [];
  answers: Array<boolean | undefined> = [];

  async tickets(q: TicketQuery): Promise<TicketPage> {
    this.queries.push(q);
    const matching = this.tickets_
      .filter((t) => q.scope === 'all' || (openStatuses as readonly string[]).includes(t.status))
      .filter((t) => !q.text || `${t.title} ${t.text}`.toLowerCase().includes(q.text.toLowerCase()))
      .sort((a, b) => (rank[a.priority ?? ''] ?? 4) - (rank[b.priority ?? ''] ?? 4) || a.createdAt.localeCompare(b.createdAt) || a.id - b.id);
    const byStatus: Record<string, number> = {};
    for (const t of this.tickets_) byStatus[t.status] = (byStatus[t.status] ?? 0) + 1;
    return { tickets: matching.slice(q.offset, q.offset + q.limit), total: matching.length, byStatus, byAgent: {} };
  }

  async ticket(id: number): Promise<TicketDetail> {
    const t = this.tickets_.find((x) => x.id === id);
    if (!t) throw new Error(`No ticket #${id}.`);
    return { ticket: t, timeline: this.timeline.get(id) ?? [] };
  }

  async events(afterId: number | undefined, limit: number): Promise<LogEntry[]> {
    return (afterId === undefined ? this.log : this.log.filter((e) => e.id > afterId)).slice(-limit);
  }

  async metrics(): Promise<Metrics> {
    this.calls.metrics++;
    return this.metricsValue;
  }

  async health(): Promise<HealthView> {
    this.calls.health++;
    return this.healthValue;
  }

  async agents(): Promise<AgentsView> {
    this.calls.agents++;
    return this.agentsValue;
  }

  async tasks(limit: number): Promise<TasksView> {
    this.calls.tasks++;
    return { ...this.tasksValue, tasks: this.tasksValue.tasks.slice(0, limit) };
  }

  private taskListeners = new Set<() => void>();

  async watchTasks(onChange: () => void): Promise<() => Promise<void>> {
    this.taskListeners.add(onChange);
    return async () => void this.taskListeners.delete(onChange);
  }

  /** A task changed status somewhere (the change feed). */
  taskChanged(value: TasksView): void {
    this.tasksValue = value;
    for (const l of this.taskListeners) l();
  }

  async watch(onChange: () => void): Promise<() => Promise<void>> {
    this.listeners.add(onChange);
    return async () => void this.listeners.delete(onChange);
  }

  get watchers(): number {
    return this.listeners.size;
  }

  /** Another process changed something. */
  change(): void {
    for (const l of this.listeners) l();
  }

  add(t: Ticket, actor = 'cli:bob'): void {
    this.tickets_.push(t);
    this.log.push({ id: this.log.length + 1, at: t.createdAt, ticketId: t.id, title: t.title, actor, kind: 'created', status: 'ok', decision: null });
    this.change();
  }

  async resolve(id: number, hooks: ActionHooks): Promise<ResolveResult> {
    this.calls.resolve.push(id);
    for (const q of this.resolveQuestions) this.answers.push(await hooks.ask(q));
    const t = this.tickets_.find((x) => x.id === id)!;
    t.status = 'resolved';
    this.change();
    return { ticketId: id, outcome: 'resolved', summary: 'cache flushed' };
  }

  async create(text: string): Promise<Ticket> {
    this.calls.create.push(text);
    const t = ticket(Math.max(0, ...this.tickets_.map((x) => x.id)) + 1, { title: text, text });
    this.add(t, 'dash:test');
    return t;
  }

  async close(): Promise<void> {}
}
