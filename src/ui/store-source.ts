import { listTickets, getTicket, ticketEvents, type Ticket } from '../agents/tickets/repo.js';
import type { OpContext, Runtime } from '../runtime/context.js';
import { messageOf } from '../runtime/errors.js';
import { redactText } from '../runtime/redact.js';
import type { Store } from '../store/types.js';
import { readActivity } from './activity.js';
import {
  openStatuses,
  type ActionHooks,
  type AgentsView,
  type DashSource,
  type HealthView,
  type LogEntry,
  type Metrics,
  type ResolveResult,
  type TicketDetail,
  type TicketPage,
  type TaskRow,
  type TasksView,
  type TicketQuery,
} from './source.js';

export interface StoreSourceOptions {
  /** How often the embedded store is polled for changes (LISTEN is not delivered through its socket). */
  pollMs?: number;
  /** With LISTEN (PostgreSQL), a slow safety poll in case a notification is lost with a connection. */
  safetyPollMs?: number;
  /**
   * The MCP tool names, for the agents panel (the command line knows them from its manifest).
   * Without them the panel loads the whole op registry (every op module and its schemas: memory
   * and time the dashboard otherwise never needs, unless it resolves a ticket).
   */
  tools?: readonly string[];
}

type Row = Record<string, unknown>;

/**
 * The dashboard's data read from twl's own store through the Runtime, changes seen by
 * LISTEN twl_tickets on PostgreSQL and by a cheap high-water-mark poll on the embedded
 * store. Its own reads are not op calls: they do not show up in the team's metrics;
 * resolve and create are, and do.
 */
export class StoreSource implements DashSource {
  private constructor(
    private readonly runtime: Runtime,
    private readonly store: Store,
    readonly description: string,
    private readonly options: StoreSourceOptions,
  ) {}

  static async open(runtime: Runtime, options: StoreSourceOptions = {}): Promise<StoreSource> {
    const store = await runtime.store();
    const description = store.backend === 'postgres' ? `PostgreSQL at ${store.location}` : `embedded store at ${store.location}`;
    return new StoreSource(runtime, store, description, options);
  }

  async tickets(q: TicketQuery): Promise<TicketPage> {
    const [page, counts] = await Promise.all([
      listTickets(this.store, { sort: 'priority', status: q.scope === 'open' ? [...openStatuses] : undefined, text: q.text || undefined, limit: Math.max(1, q.limit), offset: q.offset }),
      this.store.query<{ status: string; agent: string | null; n: string | number }>(
        "SELECT status, CASE WHEN status IN ('in_progress', 'waiting_approval') THEN assigned_agent END AS agent, count(*) AS n FROM twl_tickets GROUP BY 1, 2",
      ),
    ]);
    const byStatus: Record<string, number> = {};
    const byAgent: Record<string, number> = {};
    for (const r of counts.rows) {
      byStatus[r.status] = (byStatus[r.status] ?? 0) + Number(r.n);
      if (r.agent) byAgent[r.agent] = (byAgent[r.agent] ?? 0) + Number(r.n);
    }
    // A page past the end (tickets resolved meanwhile) comes back empty: the caller moves up.
    return { tickets: page.tickets, total: page.tickets.length ? page.total : await this.count(q), byStatus, byAgent };
  }

  private async count(q: TicketQuery): Promise<number> {
    if (q.offset === 0) return 0;
    const r = await listTickets(this.store, { sort: 'id', status: q.scope === 'open' ? [...openStatuses] : undefined, text: q.text || undefined, limit: 1 });
    return r.total;
  }

  async ticket(id: number): Promise<TicketDetail> {
    const [ticket, timeline] = await Promise.all([getTicket(this.store, id), ticketEvents(this.store, id)]);
    return { ticket, timeline };
  }

  async events(afterId: number | undefined, limit: number): Promise<LogEntry[]> {
    const cols = 'e.id, e.at, e.ticket_id, t.title, e.actor, e.kind, e.status, e.decision';
    const { rows } =
      afterId === undefined
        ? await this.store.query<Row>(`SELECT * FROM (SELECT ${cols} FROM twl_ticket_events e JOIN twl_tickets t ON t.id = e.ticket_id ORDER BY e.id DESC LIMIT $1) x ORDER BY id`, [limit])
        : // Only the newest `limit` of what came since: a bulk import is one line of news, not 10,000.
          await this.store.query<Row>(`SELECT * FROM (SELECT ${cols} FROM twl_ticket_events e JOIN twl_tickets t ON t.id = e.ticket_id WHERE e.id > $1 ORDER BY e.id DESC LIMIT $2) x ORDER BY id`, [afterId, limit]);
    return rows.map((r) => ({
      id: Number(r.id),
      at: new Date(r.at as string).toISOString(),
      ticketId: Number(r.ticket_id),
      title: r.title as string,
      actor: r.actor as string,
      kind: r.kind as string,
      status: r.status as LogEntry['status'],
      decision: (r.decision as string | null) ?? null,
    }));
  }

  metrics(): Promise<Metrics> {
    return readActivity(this.store);
  }

  async health(): Promise<HealthView> {
    const { healthReport } = await import('../agents/monitoring/health.js');
    const report = await healthReport(this.context(20_000));
    return { checkedAt: new Date().toISOString(), ...report };
  }

  async agents(): Promise<AgentsView> {
    const { default: op } = await import('../ops/maestro/agents.js');
    const ctx = this.context(20_000);
    const tools = this.options.tools;
    // The op only needs the tool names: a view of the runtime that answers ops() with them.
    if (tools?.length) {
      const names = new Map(tools.map((t) => [t, undefined as never]));
      ctx.runtime = Object.create(this.runtime, { ops: { value: async () => names } }) as Runtime;
    }
    const [r, studio] = await Promise.all([op.run(ctx, {}), import('../studio/agents.js').then(({ listAgents }) => listAgents(this.store))]);
    return {
      llm: { configured: r.llm.configured, reachable: r.llm.reachable, detail: r.llm.detail },
      agents: r.agents.map((a) => ({ name: a.name, status: a.status, detail: a.detail, tools: a.tools.length })),
      studio: studio.map((a) => ({ name: a.name, kind: a.kind, parent: a.parent, status: a.status, reason: a.reason })),
    };
  }

  async watch(onChange: () => void): Promise<() => Promise<void>> {
    const stops: Array<() => Promise<void> | void> = [];
    let listening = false;
    if (this.store.backend === 'postgres' && this.runtime.config.database.url) {
      const stop = await this.listen(onChange).catch((err: unknown) => {
        this.runtime.logger.warn({ err: redactText(messageOf(err)) }, 'LISTEN twl_tickets failed: polling for changes instead');
        return undefined;
      });
      if (stop) {
        listening = true;
        stops.push(stop);
      }
    }
    stops.push(await this.poll(onChange, listening ? (this.options.safetyPollMs ?? 5000) : (this.options.pollMs ?? 500)));
    return async () => {
      for (const stop of stops) await stop();
    };
  }

  /** A dedicated connection that LISTENs (a pooled one would lose the subscription), reconnecting when it drops. */
  private async listen(onChange: () => void): Promise<() => Promise<void>> {
    const { listenChannel } = await import('../studio/events.js');
    return listenChannel(this.runtime, 'twl_tickets', () => onChange());
  }

  /**
   * Watches the high-water marks of tickets and timeline events: every ticket change that
   * matters (created, imported, triaged, status, step, comment) appends an event, and both
   * maxima come from primary-key indexes, so a poll costs next to nothing at 10,000 tickets.
   * Resolves once the first poll has taken the marks, so that a change made after it resolves is
   * told, not taken into the marks unseen.
   */
  private async poll(onChange: () => void, everyMs: number): Promise<() => void> {
    let last: string | undefined;
    let busy = false;
    const tick = async () => {
      if (busy) return;
      busy = true;
      try {
        const { rows } = await this.store.query<Row>('SELECT (SELECT max(id) FROM twl_tickets) AS t, (SELECT max(id) FROM twl_ticket_events) AS e');
        const mark = `${String(rows[0]?.t)}/${String(rows[0]?.e)}`;
        if (last !== undefined && mark !== last) onChange();
        last = mark;
      } catch (err) {
        this.runtime.logger.debug({ err: messageOf(err) }, 'change poll failed');
      } finally {
        busy = false;
      }
    };
    await tick();
    const timer = setInterval(() => void tick(), everyMs);
    return () => clearInterval(timer);
  }

  async tasks(limit: number): Promise<TasksView> {
    const [{ toTask }, { taskRow }] = await Promise.all([import('../studio/tasks.js'), import('./task-row.js')]);
    const select = (where: string) =>
      `SELECT t.*, e.id AS e_id, e.status AS e_status, e.attempt AS e_attempt, e.started_at AS e_started, e.ended_at AS e_ended
         FROM (SELECT * FROM twl_tasks ${where} ORDER BY id DESC LIMIT $1) t
         LEFT JOIN LATERAL (SELECT id, status, attempt, started_at, ended_at FROM twl_task_executions WHERE task_id = t.id ORDER BY id DESC LIMIT 1) e ON true
        ORDER BY t.id DESC`;
    // Index range scans only (status, id and the primary key): cheap with 10,000 tasks waiting.
    const [running, newest, counts] = await Promise.all([
      this.store.query<Row>(select("WHERE status = 'running'"), [limit]),
      this.store.query<Row>(select(''), [limit]),
      this.store.query<{ status: string; n: unknown }>('SELECT status, count(*) AS n FROM twl_tasks GROUP BY status'),
    ]);
    const seen = new Set<number>();
    const now = Date.now();
    const tasks: TaskRow[] = [];
    for (const r of [...running.rows, ...newest.rows]) {
      const t = toTask(r);
      if (seen.has(t.id) || tasks.length >= limit) continue;
      seen.add(t.id);
      const last = r.e_id === null || r.e_id === undefined ? null : { id: Number(r.e_id), status: String(r.e_status), attempt: Number(r.e_attempt), startedAt: new Date(r.e_started as string).toISOString(), endedAt: r.e_ended ? new Date(r.e_ended as string).toISOString() : null };
      tasks.push(taskRow(t, last, now));
    }
    return { tasks, byStatus: Object.fromEntries(counts.rows.map((r) => [r.status, Number(r.n)])) };
  }

  async watchTasks(onChange: () => void): Promise<() => Promise<void>> {
    const { eventFollower } = await import('../studio/events.js');
    // Statuses only: a line of output changes no row of the panel.
    const stop = await eventFollower(this.runtime, { pollMs: this.options.pollMs ?? 500, safetyPollMs: this.options.safetyPollMs }).add((events) => {
      if (events.some((e) => e.kind === 'status' && (e.topic === 'task' || e.topic === 'execution'))) onChange();
    });
    return async () => stop();
  }

  async resolve(id: number, hooks: ActionHooks): Promise<ResolveResult> {
    const [{ invoke }, { default: op }] = await Promise.all([import('../ops/invoke.js'), import('../ops/ticket/resolve.js')]);
    try {
      const r = await invoke(op, this.runtime, { ticket_id: id }, { ask: hooks.ask, warn: hooks.warn, progress: (p) => hooks.progress?.(p.message) });
      return { ticketId: r.ticket.id, outcome: r.outcome, summary: r.summary };
    } finally {
      await this.runtime.flushActivity();
    }
  }

  async create(text: string, hooks: ActionHooks): Promise<Ticket> {
    const [{ invoke }, { default: op }] = await Promise.all([import('../ops/invoke.js'), import('../ops/ticket/create.js')]);
    try {
      return await invoke(op, this.runtime, { text, source: 'dash' }, { ask: hooks.ask, warn: hooks.warn });
    } finally {
      await this.runtime.flushActivity();
    }
  }

  /** What an op's run needs, for the dashboard's own reads (health, agents) that are not recorded as op calls. */
  private context(timeoutMs: number): OpContext {
    const runtime = this.runtime;
    return {
      runtime,
      face: runtime.face,
      actor: runtime.actor ?? 'dash',
      tools: runtime.tools,
      config: runtime.config,
      logger: runtime.logger.child({ ui: 'dash' }),
      store: () => runtime.store(),
      cache: () => runtime.cache(),
      target: (name) => runtime.target(name),
      llm: () => runtime.llm(),
      warn: (message) => runtime.logger.debug(message),
      signal: AbortSignal.timeout(timeoutMs),
      ask: async () => undefined,
      progress: () => undefined,
    };
  }

  async close(): Promise<void> {
    // The Runtime owns the store; the command closes it.
  }
}
