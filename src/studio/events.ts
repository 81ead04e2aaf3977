import { roleAllows } from '../http/roles.js';
import type { Role } from '../ops/op.js';
import type { Runtime } from '../runtime/context.js';
import { messageOf } from '../runtime/errors.js';
import { redactText, redactUrl } from '../runtime/redact.js';
import type { Queryable } from '../store/types.js';

/*
 * The studio's change feed (migration 0013): rows of twl_events written by triggers when a task,
 * an execution or an agent changes status and when an execution writes a line of output. This
 * module reads them (`readEvents`) and follows them live (`eventFollower`), for `GET /api/events`,
 * the MCP resources twl://tasks/{id} and twl://executions/{id}, `twl task logs --follow` and the
 * dashboard's Tasks panel.
 */

export const eventTopics = ['agent', 'task', 'execution', 'workflow'] as const;
export type EventTopic = (typeof eventTopics)[number];
export const eventKinds = ['status', 'output'] as const;
export type EventKind = (typeof eventKinds)[number];

export interface TwlEvent {
  id: number;
  at: string;
  topic: EventTopic;
  /** An agent's name, a task's id, an execution's id, a workflow run's id. */
  subject: string;
  kind: EventKind;
  /**
   * task status: {status, from, reason}; execution status: {status, task, attempt, worker};
   * execution output: {line (the line's id), text}; agent status: {status, from, reason}.
   */
  payload: Record<string, unknown>;
}

/**
 * The role an event needs: the role of the op that reads the same thing (`task_show` for
 * statuses, `task_logs` for output lines, both viewer), so the feed never shows a caller what
 * the op would refuse, nor hides what it would show. Output lines are what `twl task logs`
 * shows a viewer already (redacted when written). test/unit/events.test.ts checks this table
 * against the ops' policies.
 */
export const eventRoles: Record<`${EventTopic}:${EventKind}`, Role> = {
  'task:status': 'viewer',
  'task:output': 'viewer',
  'execution:status': 'viewer',
  'execution:output': 'viewer',
  'agent:status': 'viewer',
  'agent:output': 'viewer',
  'workflow:status': 'viewer',
  'workflow:output': 'viewer',
};

export interface EventFilter {
  /** Only these topics (all when undefined or empty). */
  topics?: readonly EventTopic[];
  /** Only these kinds. */
  kinds?: readonly EventKind[];
  /** Only this subject (with its topics). */
  subject?: string;
  /** Only what concerns this task: its status changes, and its executions' statuses and lines. */
  task?: number;
  /** Only what this role may read (see eventRoles); every event when undefined. */
  role?: Role;
}

export interface ReadQuery extends EventFilter {
  /** Events with a larger id than this. */
  after: number;
  limit: number;
}

type Row = Record<string, unknown>;

const toEvent = (r: Row): TwlEvent => ({
  id: Number(r.id),
  at: new Date(r.at as string).toISOString(),
  topic: r.topic as EventTopic,
  subject: r.subject as string,
  kind: r.kind as EventKind,
  payload: (r.payload as Record<string, unknown>) ?? {},
});

const visibleTo = (role: Role | undefined, e: { topic: EventTopic; kind: EventKind }) => role === undefined || roleAllows(eventRoles[`${e.topic}:${e.kind}`] ?? 'admin', role);

/** The events after `after` that pass the filter, oldest first. */
export async function readEvents(q: Queryable, query: ReadQuery): Promise<TwlEvent[]> {
  const allowed = (query.topics?.length ? query.topics : eventTopics).flatMap((topic) =>
    (query.kinds?.length ? query.kinds : eventKinds).filter((kind) => visibleTo(query.role, { topic, kind })).map((kind) => `${topic}:${kind}`),
  );
  if (!allowed.length) return [];
  const { rows } = await q.query<Row>(
    `SELECT id, at, topic, subject, kind, payload FROM twl_events
      WHERE id > $1 AND topic || ':' || kind = ANY($2::text[])
        AND ($3::text IS NULL OR subject = $3)
        AND ($4::bigint IS NULL OR (topic = 'task' AND subject = $4::text)
             OR (topic = 'execution' AND subject IN (SELECT id::text FROM twl_task_executions WHERE task_id = $4::bigint)))
      ORDER BY id LIMIT $5`,
    [query.after, allowed, query.subject ?? null, query.task ?? null, query.limit],
  );
  return rows.map(toEvent);
}

/** Subjects whose visibility a grant filter remembers (a task's grant never changes), per stream. */
const GRANT_MEMORY = 10_000;

/**
 * For a caller whose key is granted namespaces: keeps the task and execution events of the tasks
 * within its grant only (withinGrant in tasks.ts, as task_show and task_logs answer), drops the
 * others; other topics pass. What it learnt of a subject is kept (a task's grant never changes).
 */
export function taskGrantFilter(q: Queryable, namespaces: readonly string[]): (events: TwlEvent[]) => Promise<TwlEvent[]> {
  const known = { task: new Map<string, boolean>(), execution: new Map<string, boolean>() };
  const sql = {
    task: 'SELECT id::text AS id FROM twl_tasks WHERE id::text = ANY($1::text[]) AND namespaces IS NOT NULL AND namespaces <@ $2::text[]',
    execution: 'SELECT e.id::text AS id FROM twl_task_executions e JOIN twl_tasks t ON t.id = e.task_id WHERE e.id::text = ANY($1::text[]) AND t.namespaces IS NOT NULL AND t.namespaces <@ $2::text[]',
  };
  return async (events) => {
    for (const topic of ['task', 'execution'] as const) {
      const memory = known[topic];
      const asked = [...new Set(events.filter((e) => e.topic === topic && !memory.has(e.subject)).map((e) => e.subject))];
      if (!asked.length) continue;
      if (memory.size > GRANT_MEMORY) memory.clear();
      const { rows } = await q.query<{ id: string }>(sql[topic], [asked, [...namespaces]]);
      const within = new Set(rows.map((r) => r.id));
      for (const subject of asked) memory.set(subject, within.has(subject));
    }
    return events.filter((e) => (e.topic === 'task' || e.topic === 'execution' ? known[e.topic].get(e.subject) === true : true));
  };
}

/** The newest event's id (0 when there is none). */
export async function lastEventId(q: Queryable): Promise<number> {
  const { rows } = await q.query<{ id: unknown }>('SELECT coalesce(max(id), 0) AS id FROM twl_events');
  return Number(rows[0]!.id);
}

/**
 * An in-memory form of a filter, for events as they come. `task` needs to know which executions
 * belong to the task: the ones given, and those whose status events say so (an execution's first
 * event is its status, `running`, with its task).
 */
export function eventMatcher(filter: EventFilter, executions: Iterable<number> = []): (e: TwlEvent) => boolean {
  const mine = new Set([...executions].map(String));
  return (e) => {
    if (!visibleTo(filter.role, e)) return false;
    if (filter.topics?.length && !filter.topics.includes(e.topic)) return false;
    if (filter.kinds?.length && !filter.kinds.includes(e.kind)) return false;
    if (filter.subject !== undefined && e.subject !== filter.subject) return false;
    if (filter.task !== undefined) {
      if (e.topic === 'task') return e.subject === String(filter.task);
      if (e.topic !== 'execution') return false;
      if (e.kind === 'status' && Number(e.payload.task) === filter.task) mine.add(e.subject);
      return mine.has(e.subject);
    }
    return true;
  };
}

export interface FollowOptions {
  /** Deliver the events after this id first (a resume), then the live ones. Undefined: live ones only, from now. */
  after?: number;
  /** Backlog page size. */
  page?: number;
  /**
   * Called before the backlog when events after `after` were deleted by the retention pass
   * (store.eventRetention): the caller missed some, and should re-read the state it follows.
   */
  onPruned?: (gap: PrunedGap) => void | Promise<void>;
  /**
   * Called once the follower listens, before the backlog: every event committed from then on is
   * delivered. What announces the follow to someone else (GET /api/events' 200) belongs here.
   */
  onFollowing?: () => void;
}

/** Events a resume cannot deliver: every id from after + 1 to prunedThrough is gone (some may not have been for this follower). */
export interface PrunedGap {
  after: number;
  /** The newest event the retention pass deleted. */
  prunedThrough: number;
  /** The oldest event kept (null: none). */
  oldest: number | null;
}

/** The gap a resume after `after` would leave, if the retention pass deleted events after it. */
export async function prunedSince(q: Queryable, after: number): Promise<PrunedGap | undefined> {
  const { rows } = await q.query<{ through: unknown; oldest: unknown }>("SELECT (SELECT events_through FROM twl_upkeep WHERE job = 'retention') AS through, (SELECT min(id) FROM twl_events) AS oldest");
  const through = Number(rows[0]?.through ?? 0);
  if (after >= through) return undefined;
  return { after, prunedThrough: through, oldest: rows[0]?.oldest == null ? null : Number(rows[0].oldest) };
}

export type EventListener = (events: TwlEvent[]) => void | Promise<void>;

/** How long an id skipped by the feed is looked for again (a transaction that wrote it may commit late). */
const GAP_WINDOW_MS = 30_000;
const MAX_GAPS = 10_000;
/** Ids below the first read's newest that are checked for late commits. */
const BASELINE_LOOKBACK = 256;
const READ_PAGE = 1000;

export interface FollowerOptions {
  /** How often the store is read when nothing announces changes (the embedded store). */
  pollMs?: number;
  /** With LISTEN (PostgreSQL), the slow safety poll in case a notification is lost. */
  safetyPollMs?: number;
}

/**
 * Follows twl_events: on PostgreSQL a dedicated connection LISTENs on twl_events (each row is
 * announced with its id) and a slow poll covers a notification lost with a connection; on the
 * embedded store (no LISTEN through its host's socket) the store is polled by id. One follower per
 * runtime, shared by every consumer of the process; it runs only while something follows.
 *
 * Each event reaches each listener once, in id order as committed. Ids are given when a row is
 * written, not when it commits, so an id skipped by a read (its transaction had not committed yet)
 * is looked for again for GAP_WINDOW_MS.
 */
export class EventFollower {
  private readonly listeners = new Set<(events: TwlEvent[]) => void>();
  private cursor?: number;
  /** Ids skipped by a read, and when they were first missed. */
  private gaps = new Map<number, number>();
  private timer?: NodeJS.Timeout;
  private stopListen?: () => Promise<void>;
  private chain: Promise<void> = Promise.resolve();
  private again = false;
  private reading = false;
  private failing = false;
  private generation = 0;
  private starting?: Promise<void>;
  /** True once LISTEN is up (PostgreSQL); the poll is then the slow safety one. */
  listening = false;

  constructor(
    private readonly runtime: Runtime,
    private readonly options: FollowerOptions = {},
  ) {}

  /** Whether it is following (some listener exists). */
  get active(): boolean {
    return this.listeners.size > 0;
  }

  /**
   * Adds a raw listener: every event read from now on, unfiltered. Resolves once the follower
   * knows where "now" is (so an event written after this resolves is delivered).
   */
  async add(listener: (events: TwlEvent[]) => void): Promise<() => void> {
    this.listeners.add(listener);
    if (this.listeners.size === 1) this.starting = this.start();
    try {
      // Until the first listener's baseline is taken, "now" is not known: every listener waits for it.
      await this.starting;
      await this.chain;
    } catch (err) {
      this.listeners.delete(listener);
      if (!this.listeners.size) await this.stop();
      throw err;
    }
    let removed = false;
    return () => {
      if (removed) return;
      removed = true;
      this.listeners.delete(listener);
      if (!this.listeners.size) void this.stop();
    };
  }

  /**
   * Follows the events that pass `filter`: first the backlog after `options.after` (read page by
   * page, each page awaited), then the live ones, each delivered once. Resolves with the stop
   * function once the backlog is delivered.
   */
  async follow(filter: EventFilter, onEvents: EventListener, options: FollowOptions = {}): Promise<() => void> {
    const store = await this.runtime.store();
    const executions = filter.task !== undefined ? await executionIdsOf(store, filter.task) : [];
    const matches = eventMatcher(filter, executions);
    // Live events are held while the backlog is read, then delivered without the ones it had.
    let held: TwlEvent[] | undefined = [];
    const delivered = new Set<number>();
    const deliver = (events: TwlEvent[]) => {
      const fresh = events.filter((e) => !delivered.has(e.id) && matches(e));
      if (!fresh.length) return;
      try {
        void Promise.resolve(onEvents(fresh)).catch((err: unknown) => this.runtime.logger.debug({ err: messageOf(err) }, 'an event listener failed'));
      } catch (err) {
        this.runtime.logger.debug({ err: messageOf(err) }, 'an event listener failed');
      }
    };
    const stop = await this.add((events) => {
      if (held) held.push(...events);
      else deliver(events);
    });
    try {
      options.onFollowing?.();
      if (options.after !== undefined) {
        const gap = options.onPruned && (await prunedSince(store, options.after));
        if (gap) await options.onPruned!(gap);
        const page = options.page ?? 500;
        let after = options.after;
        for (;;) {
          const read = await readEvents(store, { ...filter, after, limit: page });
          const events = read.filter((e) => matches(e));
          if (read.length) after = read.at(-1)!.id;
          for (const e of events) delivered.add(e.id);
          if (events.length) await onEvents(events);
          if (read.length < page) break;
        }
      }
    } catch (err) {
      stop();
      throw err;
    }
    const pending = held;
    held = undefined;
    deliver(pending);
    // The ids from the backlog can come live only until the follower has read past them.
    const prune = setInterval(() => {
      const floor = this.floor();
      for (const id of delivered) if (id < floor) delivered.delete(id);
      if (!delivered.size) clearInterval(prune);
    }, 5000);
    prune.unref();
    return () => {
      clearInterval(prune);
      stop();
    };
  }

  /** The smallest id the follower may still deliver. */
  floor(): number {
    let floor = (this.cursor ?? 0) + 1;
    for (const id of this.gaps.keys()) floor = Math.min(floor, id);
    return floor;
  }

  /** Asks for a read soon (a notification came, or a test wants one). */
  wake(): void {
    if (this.reading) {
      this.again = true;
      return;
    }
    this.chain = this.chain.then(() => this.readAll());
  }

  private async start(): Promise<void> {
    const generation = ++this.generation;
    const store = await this.runtime.store();
    if (store.backend === 'postgres' && this.runtime.config.database.url) {
      this.stopListen = await listenChannel(this.runtime, 'twl_events', () => this.wake(), (up) => {
        this.listening = up;
        // Reconnected: what was announced meanwhile was lost; read.
        if (up && this.cursor !== undefined) this.wake();
      }).catch((err: unknown) => {
        this.runtime.logger.warn({ err: redactText(messageOf(err)) }, 'LISTEN twl_events failed: polling for events instead');
        return undefined;
      });
    }
    if (generation !== this.generation) return;
    // The baseline: what is in the store now is history; ids below it that are not there yet may commit late.
    this.chain = this.chain.then(async () => {
      try {
        const newest = await lastEventId(store);
        const { rows } = await store.query<{ id: unknown }>('SELECT id FROM twl_events WHERE id > $1 AND id <= $2', [Math.max(0, newest - BASELINE_LOOKBACK), newest]);
        const present = new Set(rows.map((r) => Number(r.id)));
        const now = Date.now();
        this.gaps.clear();
        for (let id = Math.max(1, newest - BASELINE_LOOKBACK + 1); id <= newest; id++) if (!present.has(id)) this.gaps.set(id, now);
        this.cursor = newest;
      } catch (err) {
        this.cursor = undefined;
        this.runtime.logger.debug({ err: messageOf(err) }, 'event follower: the store did not answer; trying again');
      }
    });
    await this.chain;
    if (generation !== this.generation) return;
    const every = this.listening ? (this.options.safetyPollMs ?? 5000) : (this.options.pollMs ?? 250);
    this.timer = setInterval(() => this.wake(), every);
    this.timer.unref();
  }

  private async stop(): Promise<void> {
    this.generation++;
    clearInterval(this.timer);
    this.timer = undefined;
    const stopListen = this.stopListen;
    this.stopListen = undefined;
    this.listening = false;
    this.cursor = undefined;
    this.gaps.clear();
    await stopListen?.();
  }

  private async readAll(): Promise<void> {
    if (!this.listeners.size) return;
    this.reading = true;
    try {
      do {
        this.again = false;
        while (await this.readOnce());
      } while (this.again && this.listeners.size);
      if (this.failing) this.runtime.logger.info('event follower: the store answers again');
      this.failing = false;
    } catch (err) {
      if (!this.failing) this.runtime.logger.warn({ err: redactText(messageOf(err)) }, 'event follower: could not read the store; retrying');
      this.failing = true;
    } finally {
      this.reading = false;
    }
  }

  /** Reads one page after the cursor (and the gaps); true when a full page came (read again). */
  private async readOnce(): Promise<boolean> {
    const store = await this.runtime.store();
    if (this.cursor === undefined) {
      // The baseline failed (the store was down): take it now; what came meanwhile is lost to live listeners.
      this.cursor = await lastEventId(store);
      return false;
    }
    const now = Date.now();
    for (const [id, since] of this.gaps) if (now - since > GAP_WINDOW_MS) this.gaps.delete(id);
    const gaps = [...this.gaps.keys()];
    const { rows } = await store.query<Row>(
      `SELECT id, at, topic, subject, kind, payload FROM twl_events WHERE id > $1 OR id = ANY($2::bigint[]) ORDER BY id LIMIT ${READ_PAGE}`,
      [this.cursor, gaps],
    );
    const events = rows.map(toEvent);
    let full = false;
    for (const e of events) {
      if (e.id <= this.cursor) {
        this.gaps.delete(e.id);
        continue;
      }
      full = true;
      for (let id = this.cursor + 1; id < e.id && this.gaps.size < MAX_GAPS; id++) this.gaps.set(id, now);
      this.cursor = e.id;
    }
    full = full && rows.length === READ_PAGE;
    if (events.length) for (const listener of [...this.listeners]) listener(events);
    return full;
  }
}

const followers = new WeakMap<Runtime, EventFollower>();

/** The runtime's shared follower (created on first use, with the first caller's options). */
export function eventFollower(runtime: Runtime, options?: FollowerOptions): EventFollower {
  let follower = followers.get(runtime);
  if (!follower) {
    follower = new EventFollower(runtime, options);
    followers.set(runtime, follower);
  }
  return follower;
}

/** The ids of a task's executions. */
export async function executionIdsOf(q: Queryable, taskId: number): Promise<number[]> {
  const { rows } = await q.query<{ id: unknown }>('SELECT id FROM twl_task_executions WHERE task_id = $1', [taskId]);
  return rows.map((r) => Number(r.id));
}

/**
 * LISTENs on a channel over a dedicated connection (a pooled one would lose the subscription),
 * reconnecting with a growing delay when it drops. `onState(false)` when it drops, `(true)` when it
 * is back. Resolves once the first connection listens (rejects if it cannot), with the stop.
 */
export async function listenChannel(runtime: Runtime, channel: string, onNotify: (payload: string | undefined) => void, onState: (up: boolean) => void = () => undefined): Promise<() => Promise<void>> {
  const { default: pg } = await import('pg');
  const url = runtime.config.database.url!;
  let stopped = false;
  let client: InstanceType<typeof pg.Client> | undefined;
  let retry: NodeJS.Timeout | undefined;
  let delay = 500;
  const connect = async () => {
    const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
    let dropped = false;
    const drop = (err?: Error) => {
      if (dropped) return;
      dropped = true;
      if (client === c) client = undefined;
      void c.end().catch(() => undefined);
      if (stopped) return;
      runtime.logger.warn({ err: err ? redactText(err.message) : 'closed', url: redactUrl(url), channel }, 'the LISTEN connection dropped; reconnecting');
      onState(false);
      schedule();
    };
    c.on('error', drop);
    c.on('end', () => drop());
    c.on('notification', (n) => onNotify(n.payload));
    try {
      await c.connect();
      await c.query(`LISTEN ${channel}`);
    } catch (err) {
      dropped = true;
      void c.end().catch(() => undefined);
      throw err;
    }
    if (stopped) {
      dropped = true;
      await c.end().catch(() => undefined);
      return;
    }
    client = c;
    delay = 500;
  };
  const schedule = () => {
    clearTimeout(retry);
    retry = setTimeout(() => {
      connect()
        .then(() => !stopped && onState(true))
        .catch(() => {
          delay = Math.min(delay * 2, 30_000);
          if (!stopped) schedule();
        });
    }, delay);
    retry.unref();
  };
  await connect();
  onState(true);
  return async () => {
    stopped = true;
    clearTimeout(retry);
    const c = client;
    client = undefined;
    await c?.end().catch(() => undefined);
  };
}
