import http from 'node:http';
import https from 'node:https';
import type { Ticket, TicketEvent } from '../agents/tickets/repo.js';
import { TwlError, errorCatalog, messageOf, type ErrorCode } from '../runtime/errors.js';
import {
  openStatuses,
  type ActionHooks,
  type AgentsView,
  type StudioAgentView,
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
import type { Task, Execution } from '../studio/tasks.js';

export interface HttpSourceOptions {
  /** How often the server is asked whether tickets changed (a new ticket shows within about this long). */
  pollMs?: number;
  /** Per request, for reads. */
  timeoutMs?: number;
  /** The counts by status and agent are read again at most this often (they take 9 requests). */
  countsMs?: number;
}

/** The statuses the dashboard counts (every one a ticket can have). */
const allStatuses = ['new', 'triaged', 'in_progress', 'waiting_approval', 'resolved', 'closed', 'escalated', 'reopened'] as const;
const busyStatuses = ['in_progress', 'waiting_approval'];

interface ListResult {
  tickets: Ticket[];
  total: number;
}

/** The server's URL as shown and used: no credentials, no trailing slash. */
export function displayUrl(url: string): string {
  const u = new URL(url);
  u.username = '';
  u.password = '';
  u.search = '';
  u.hash = '';
  return u.toString().replace(/\/+$/, '');
}

const isCode = (code: unknown): code is ErrorCode => typeof code === 'string' && code in errorCatalog;

/**
 * The dashboard's data from a remote `twl serve --http`, through its REST face (POST
 * /api/tools/{name} with `Authorization: Bearer KEY`): the same tools an AI client calls,
 * with the key's role. Changes are seen by polling the most recently updated ticket; the
 * event log is made of the timelines of the tickets that changed. The key is sent in a
 * header only: never in a message, a log line or the description.
 */
export class HttpSource implements DashSource {
  readonly description: string;
  private readonly base: URL;
  private readonly agent: http.Agent;
  private readonly pollMs: number;
  private readonly timeoutMs: number;
  private readonly countsMs: number;
  private readonly aborts = new Set<AbortController>();
  /** Bumped by the watch when the server says something changed: the counts are read again then. */
  private generation = 0;
  private counts?: { generation: number; at: number; value: Promise<Pick<TicketPage, 'byStatus' | 'byAgent'>> };
  /** The newest tickets by update, from the last poll: the event log reads their timelines. */
  private recent?: { at: number; tickets: Ticket[] };
  /** The update time of the newest ticket whose timeline is in the log already. */
  private seenUpdated = '';
  private closed = false;

  constructor(
    url: string,
    private readonly key: string,
    options: HttpSourceOptions = {},
  ) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new TwlError('TWL_INPUT_INVALID', `--url: "${url}" is not a URL; expected the address of a twl serve --http, e.g. http://127.0.0.1:30080.`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new TwlError('TWL_INPUT_INVALID', `--url: expected an http:// or https:// address, got ${parsed.protocol}//.`);
    if (!key.trim()) throw new TwlError('TWL_INPUT_INVALID', '--key is empty.', { actions: ['Create a key on the server with `twl keys create --role viewer` and pass it with --key or TWL_DASH_KEY.'] });
    this.base = new URL(displayUrl(url));
    this.description = `twl serve --http at ${this.base.toString().replace(/\/+$/, '')}`;
    this.agent = new (parsed.protocol === 'https:' ? https.Agent : http.Agent)({ keepAlive: true, maxSockets: 6 });
    this.pollMs = options.pollMs ?? 500;
    this.timeoutMs = options.timeoutMs ?? 20_000;
    this.countsMs = options.countsMs ?? 5000;
  }

  /** One request; errors say what went wrong and what to do, never with the key. */
  private request<T>(method: 'GET' | 'POST', path: string, body: unknown, timeoutMs: number): Promise<T> {
    if (this.closed) return Promise.reject(new TwlError('TWL_INTERRUPTED', 'The dashboard is closing.'));
    const url = new URL(path.replace(/^\//, ''), `${this.base.toString().replace(/\/?$/, '/')}`);
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const controller = new AbortController();
    this.aborts.add(controller);
    const where = this.base.toString().replace(/\/+$/, '');
    return new Promise<T>((resolve, reject) => {
      const req = (url.protocol === 'https:' ? https : http).request(
        url,
        {
          method,
          agent: this.agent,
          signal: controller.signal,
          headers: {
            authorization: `Bearer ${this.key}`,
            accept: 'application/json',
            ...(payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', (err) => reject(this.unreachable(where, err)));
          res.on('end', () => {
            const status = res.statusCode ?? 0;
            let parsed: { result?: unknown; error?: { code?: unknown; message?: unknown; actions?: unknown } } | undefined;
            try {
              parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as typeof parsed;
            } catch {
              parsed = undefined;
            }
            if (status >= 200 && status < 300 && parsed) return resolve((path.startsWith('/api/tools/') ? parsed.result : parsed) as T);
            reject(this.failure(where, path, status, parsed?.error, res.headers['retry-after']));
          });
        },
      );
      const timer = setTimeout(() => controller.abort(new TwlError('TWL_TIMEOUT', `${where} did not answer ${path} within ${Math.round(timeoutMs / 1000)} s.`, { actions: ['Check the server (twl serve --http) and the network between here and there.'] })), timeoutMs);
      req.on('error', (err) => reject(controller.signal.reason instanceof TwlError ? controller.signal.reason : this.unreachable(where, err)));
      req.on('close', () => {
        clearTimeout(timer);
        this.aborts.delete(controller);
      });
      req.end(payload);
    });
  }

  private unreachable(where: string, err: unknown): TwlError {
    const code = (err as { code?: string }).code;
    const reason = code === 'ECONNREFUSED' ? 'nothing listens there' : code === 'ENOTFOUND' ? 'the host name does not resolve' : messageOf(err).replaceAll(this.key, '[key]');
    // No code of its own yet in the catalog: the closest, with the right exit code (unavailable) and advice.
    return new TwlError('TWL_STORE_UNAVAILABLE', `Cannot reach twl serve --http at ${where}: ${reason}.`, {
      actions: ['Check --url, and that `twl serve --http` runs there (and listens on an address this machine reaches: --host).'],
    });
  }

  private failure(where: string, path: string, status: number, error: { code?: unknown; message?: unknown; actions?: unknown } | undefined, retryAfter: string | string[] | undefined): TwlError {
    const message = typeof error?.message === 'string' ? error.message.replaceAll(this.key, '[key]') : `HTTP ${status}`;
    const tool = path.startsWith('/api/tools/') ? path.slice('/api/tools/'.length) : path;
    if (status === 401) {
      return new TwlError('TWL_AUTH_REQUIRED', `${where} refused the API key (401): it is unknown, revoked or mistyped.`, {
        actions: ['On the server, create a key with `twl keys create --role viewer`, then pass it with --key or TWL_DASH_KEY.'],
      });
    }
    if (status === 403) {
      return new TwlError('TWL_ROLE_DENIED', `${where} refused ${tool} (403): ${message}`, {
        actions: ['Use a key with the role the tool needs (operator to create and resolve tickets): `twl keys create --role operator` on the server.'],
      });
    }
    if (status === 429) {
      return new TwlError('TWL_RATE_LIMITED', `${where} rate-limits this key (429)${retryAfter ? `: retry in ${String(retryAfter)} s` : ''}.`, {
        actions: ['Raise http.rateLimit.key on the server, or give the dashboard a key of its own.'],
      });
    }
    if (status === 404 && error?.code === 'HTTP_404') {
      return new TwlError('TWL_TOOL_MISSING', `${where} has no ${tool}: its twl is older than this one. ${message}`, { actions: ['Update twl on the server.'] });
    }
    const actions = Array.isArray(error?.actions) ? error.actions.filter((a): a is string => typeof a === 'string') : undefined;
    return new TwlError(isCode(error?.code) ? error.code : 'TWL_MCP_FAILED', `${tool}: ${message}`, actions?.length ? { actions } : {});
  }

  private call<T>(tool: string, input: unknown, timeoutMs = this.timeoutMs): Promise<T> {
    return this.request<T>('POST', `/api/tools/${encodeURIComponent(tool)}`, input, timeoutMs);
  }

  /** Reaches the server with the key (cheap, and not an op call): fails with the reason before a screen opens. */
  async check(): Promise<void> {
    await this.request('GET', '/mcp/status', undefined, 10_000);
  }

  async tickets(q: TicketQuery): Promise<TicketPage> {
    const filter = { status: q.scope === 'open' ? [...openStatuses] : undefined, ...(q.text ? { text: q.text.slice(0, 200) } : {}) };
    const [page, counts] = await Promise.all([
      this.call<ListResult>('tickets_list_tickets', { ...filter, sort: 'priority', limit: Math.min(10_000, Math.max(1, q.limit)), offset: q.offset }),
      this.countsNow(),
    ]);
    let total = page.total;
    // A page past the end (tickets resolved meanwhile) comes back empty, without the total: ask for it.
    if (!page.tickets.length && q.offset > 0) total = (await this.call<ListResult>('tickets_list_tickets', { ...filter, sort: 'id', limit: 1 })).total;
    return { tickets: page.tickets, total, ...counts };
  }

  /** Counts by status (one small request each) and the busy tickets by agent, shared between reads until something changes. */
  private countsNow(): Promise<Pick<TicketPage, 'byStatus' | 'byAgent'>> {
    const now = Date.now();
    const c = this.counts;
    if (c && (c.generation === this.generation || now - c.at < this.countsMs) && now - c.at < 30_000) return c.value;
    const value = (async () => {
      const [totals, busy] = await Promise.all([
        Promise.all(allStatuses.map((s) => this.call<ListResult>('tickets_list_tickets', { status: [s], sort: 'id', limit: 1 }).then((r) => [s, r.total] as const))),
        this.call<ListResult>('tickets_list_tickets', { status: busyStatuses, sort: 'id', limit: 1000 }),
      ]);
      const byStatus: Record<string, number> = {};
      for (const [s, n] of totals) if (n) byStatus[s] = n;
      const byAgent: Record<string, number> = {};
      for (const t of busy.tickets) if (t.assignedAgent) byAgent[t.assignedAgent] = (byAgent[t.assignedAgent] ?? 0) + 1;
      return { byStatus, byAgent };
    })();
    this.counts = { generation: this.generation, at: now, value };
    value.catch(() => {
      if (this.counts?.value === value) this.counts = undefined;
    });
    return value;
  }

  async ticket(id: number): Promise<TicketDetail> {
    return this.call<TicketDetail>('tickets_get_ticket', { id });
  }

  /**
   * The timelines of the tickets updated most recently, merged by event id (ids are global, so
   * afterId works as on the store). Only tickets updated since the last read are fetched again.
   */
  async events(afterId: number | undefined, limit: number): Promise<LogEntry[]> {
    const fresh = this.recent && Date.now() - this.recent.at < this.pollMs * 2 ? this.recent.tickets : undefined;
    const candidates = afterId === undefined || !fresh ? (await this.call<ListResult>('tickets_list_tickets', { sort: 'updated', limit: afterId === undefined ? Math.min(10, limit) : 5 })).tickets : fresh;
    const changed = afterId === undefined ? candidates : candidates.filter((t) => t.updatedAt >= this.seenUpdated);
    const details = await Promise.all(changed.map((t) => this.ticket(t.id).catch(() => undefined)));
    for (const t of changed) if (t.updatedAt > this.seenUpdated) this.seenUpdated = t.updatedAt;
    const entries: LogEntry[] = [];
    for (const d of details) {
      if (!d) continue;
      for (const e of d.timeline as TicketEvent[]) {
        if (afterId !== undefined && e.id <= afterId) continue;
        entries.push({ id: e.id, at: e.at, ticketId: d.ticket.id, title: d.ticket.title, actor: e.actor, kind: e.kind, status: e.status, decision: e.decision });
      }
    }
    return entries.sort((a, b) => a.id - b.id).slice(-limit);
  }

  metrics(): Promise<Metrics> {
    return this.call<Metrics>('dash_get_activity', {});
  }

  async health(): Promise<HealthView> {
    const r = await this.call<HealthView>('monitoring_health_check', {}, 60_000);
    return { status: r.status, checkedAt: r.checkedAt, services: r.services, dependencies: r.dependencies };
  }

  async agents(): Promise<AgentsView> {
    const [r, studio] = await Promise.all([
      this.call<{ llm: AgentsView['llm']; agents: Array<{ name: string; status: AgentsView['agents'][number]['status']; detail: string; tools: string[] }> }>('maestro_list_agents', {}),
      // A server without the studio's agents (older) answers 404: the panel shows the built-in ones only.
      this.call<{ agents: StudioAgentView[] }>('agent_list', {}).catch(() => undefined),
    ]);
    return {
      llm: { configured: r.llm.configured, reachable: r.llm.reachable, detail: r.llm.detail },
      agents: r.agents.map((a) => ({ name: a.name, status: a.status, detail: a.detail, tools: a.tools.length })),
      ...(studio ? { studio: studio.agents.map((a) => ({ name: a.name, kind: a.kind, parent: a.parent, status: a.status, reason: a.reason })) } : {}),
    };
  }

  /** Polls the most recently updated ticket (one small indexed read); a different one, time or total is a change. */
  async watch(onChange: () => void): Promise<() => Promise<void>> {
    let last: string | undefined;
    let busy = false;
    const tick = async () => {
      if (busy || this.closed) return;
      busy = true;
      try {
        const r = await this.call<ListResult>('tickets_list_tickets', { sort: 'updated', limit: 5 }, Math.max(2000, this.pollMs * 4));
        this.recent = { at: Date.now(), tickets: r.tickets };
        const top = r.tickets[0];
        const mark = `${r.total}/${top?.id ?? ''}/${top?.updatedAt ?? ''}`;
        if (last !== undefined && mark !== last) {
          this.generation++;
          onChange();
        }
        last = mark;
      } catch {
        // The panels report the failure on their next read; the poll goes on.
      } finally {
        busy = false;
      }
    };
    await tick();
    const timer = setInterval(() => void tick(), this.pollMs);
    return async () => clearInterval(timer);
  }

  /** The newest tasks (task_list) and, for each, its last execution (task_show): the Tasks panel. */
  async tasks(limit: number): Promise<TasksView> {
    const [{ taskRow }, list] = await Promise.all([import('./task-row.js'), this.call<{ tasks: Task[] }>('task_list', { limit: Math.min(1000, Math.max(1, limit)) })]);
    const now = Date.now();
    const shown = await Promise.all(list.tasks.map((t) => this.call<{ task: Task; executions: Execution[] }>('task_show', { id: t.id }).catch(() => ({ task: t, executions: [] }))));
    const byStatus: Record<string, number> = {};
    const tasks: TaskRow[] = shown.map(({ task: t, executions }) => {
      byStatus[t.status] = (byStatus[t.status] ?? 0) + 1;
      const e = executions.at(-1);
      return taskRow(t, e ? { id: e.id, status: e.status, attempt: e.attempt, startedAt: e.startedAt, endedAt: e.endedAt } : null, now);
    });
    tasks.sort((a, b) => Number(b.status === 'running') - Number(a.status === 'running') || b.id - a.id);
    return { tasks, byStatus };
  }

  /**
   * Follows the server's GET /api/events (statuses of tasks and executions) and calls onChange
   * for each batch; reconnects after a drop, resuming after the last event seen. A server without
   * the route (an older twl) is polled with task_list every 5 s instead. Resolves once it watches:
   * the stream's 200 (sent once the server follows its change feed) or the poll's first list has
   * arrived, so a change made after that is told; or once the first attempt failed (it retries),
   * or after 10 s without an answer.
   */
  async watchTasks(onChange: () => void): Promise<() => Promise<void>> {
    let stopped = false;
    let lastId: string | undefined;
    let req: http.ClientRequest | undefined;
    let retry: NodeJS.Timeout | undefined;
    let poll: NodeJS.Timeout | undefined;
    const url = new URL('api/events?topics=task,execution&kinds=status', `${this.base.toString().replace(/\/?$/, '/')}`);
    /** Settles the watch's first attempt (the promise watchTasks returns waits for it). */
    let settle!: () => void;
    const settled = new Promise<void>((resolve) => (settle = resolve));
    const fallback = async () => {
      let mark: string | undefined;
      const check = () =>
        this.call<{ tasks: Task[] }>('task_list', { limit: 20 })
          .then((r) => {
            const now = r.tasks.map((t) => `${t.id}:${t.status}:${t.updatedAt}`).join(',');
            if (mark !== undefined && now !== mark) onChange();
            mark = now;
          })
          .catch(() => undefined);
      // The first mark now: a change after watchTasks resolves differs from it.
      await check();
      if (!stopped && !this.closed) poll = setInterval(() => void check(), 5000);
    };
    const connect = () => {
      if (stopped || this.closed) return settle();
      req = (url.protocol === 'https:' ? https : http).request(url, { agent: false, headers: { authorization: `Bearer ${this.key}`, accept: 'text/event-stream', ...(lastId ? { 'last-event-id': lastId } : {}) } }, (res) => {
        if (res.statusCode === 404) {
          res.resume();
          return void fallback().finally(settle);
        }
        if (res.statusCode !== 200) {
          res.resume();
          settle();
          return again();
        }
        // The server sends its 200 once the stream follows: from here on, every change is told.
        settle();
        res.setEncoding('utf8');
        let buffer = '';
        res.on('data', (chunk: string) => {
          buffer += chunk;
          let changed = false;
          let cut: number;
          while ((cut = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, cut);
            buffer = buffer.slice(cut + 2);
            const id = /^id: (\d+)$/m.exec(block)?.[1];
            if (id) lastId = id;
            // pruned: events it missed while away were deleted (store.eventRetention): re-read everything.
            if (/^event: ((task|execution)\.status|pruned)$/m.test(block)) changed = true;
          }
          if (changed) onChange();
        });
        res.on('end', again);
        res.on('error', again);
      });
      req.on('error', again);
      req.end();
    };
    const again = () => {
      settle();
      if (stopped || this.closed) return;
      clearTimeout(retry);
      retry = setTimeout(connect, 2000);
      retry.unref();
    };
    connect();
    // Bounded: a server that takes the connection and never answers does not hold the dashboard.
    const bound = setTimeout(settle, 10_000);
    await settled;
    clearTimeout(bound);
    return async () => {
      stopped = true;
      clearTimeout(retry);
      clearInterval(poll);
      req?.destroy();
    };
  }

  /**
   * Runs the resolver on the server. Over REST nobody can answer its questions: a fix that
   * needs approval stops the ticket at waiting_approval, to be approved where it runs.
   */
  async resolve(id: number, hooks: ActionHooks): Promise<ResolveResult> {
    hooks.progress?.(`resolving #${id} on ${this.base.host}…`);
    const r = await this.call<{ ticket: Ticket; outcome: string; summary: string }>('real-resolver_resolve_ticket', { ticket_id: id }, 900_000);
    this.generation++;
    return { ticketId: r.ticket.id, outcome: r.outcome, summary: r.summary };
  }

  async create(text: string, hooks?: ActionHooks): Promise<Ticket> {
    hooks?.progress?.(`creating a ticket on ${this.base.host}…`);
    const t = await this.call<Ticket>('tickets_create_ticket', { text, source: 'dash' });
    this.generation++;
    return t;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const c of this.aborts) c.abort(new TwlError('TWL_INTERRUPTED', 'The dashboard is closing.'));
    this.aborts.clear();
    this.agent.destroy();
  }
}
