import type { Runtime } from '../runtime/context.js';

/** What one MCP server (one client session) watches, and how it hears about changes. */
export interface WatchSubscriber {
  /** Ticket ids it is subscribed to. */
  tickets(): Iterable<number>;
  /** Subscribed to the open-ticket list. */
  list(): boolean;
  /** Subscribed to the audit log. */
  audit(): boolean;
  /** Something it watches changed (only what it watches is passed). */
  changed(change: { tickets: number[]; list: boolean; audit: boolean }): void;
}

type Row = Record<string, unknown>;
const str = (v: unknown) => (v === null || v === undefined ? '' : String(v));

/**
 * Notices changes to tickets, the ticket list and the audit log by polling the store: LISTEN
 * is not reliable through the embedded store's host, and a poll works the same on PGlite and
 * PostgreSQL. One watcher per runtime, shared by every MCP session of the process; it polls
 * only while some session has a subscription, and each tick asks only for what is watched:
 * - subscribed tickets: their updated_at and last timeline event (primary key and index lookups);
 * - the ticket list: max(id), max(updated_at) and count(*) of twl_tickets;
 * - the audit log: max(id) of twl_audit.
 */
export class TicketWatch {
  private readonly subscribers = new Set<WatchSubscriber>();
  /** The last seen fingerprint of each watched ticket, of the list and of the audit log. */
  private readonly tickets = new Map<number, string>();
  private listState?: string;
  private auditState?: string;
  private timer?: NodeJS.Timeout;
  private chain: Promise<void> = Promise.resolve();
  private failing = false;

  constructor(
    private readonly runtime: Runtime,
    readonly intervalMs = 1000,
  ) {}

  add(subscriber: WatchSubscriber): void {
    this.subscribers.add(subscriber);
  }

  remove(subscriber: WatchSubscriber): void {
    this.subscribers.delete(subscriber);
    this.reschedule();
  }

  /**
   * Call after a subscriber's subscriptions changed. Takes the baseline of anything newly
   * watched before it resolves (so a change right after subscribing is noticed), and starts
   * or stops the polling.
   */
  async refresh(): Promise<void> {
    await this.poll();
    this.reschedule();
  }

  /** Whether the watcher is polling (some subscription exists). */
  get active(): boolean {
    return this.timer !== undefined;
  }

  private wanted() {
    const tickets = new Set<number>();
    let list = false;
    let audit = false;
    for (const s of this.subscribers) {
      for (const id of s.tickets()) tickets.add(id);
      list ||= s.list();
      audit ||= s.audit();
    }
    return { tickets, list, audit };
  }

  private reschedule(): void {
    const { tickets, list, audit } = this.wanted();
    const needed = tickets.size > 0 || list || audit;
    if (needed && !this.timer) {
      this.timer = setInterval(() => void this.poll(), this.intervalMs);
      this.timer.unref();
    } else if (!needed && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
    // Forget what nobody watches any more (a later subscription takes a fresh baseline).
    for (const id of this.tickets.keys()) if (!tickets.has(id)) this.tickets.delete(id);
    if (!list) this.listState = undefined;
    if (!audit) this.auditState = undefined;
  }

  /** One poll at a time: a slow store never piles up overlapping polls. */
  private poll(): Promise<void> {
    this.chain = this.chain.then(() => this.pollOnce()).catch(() => undefined);
    return this.chain;
  }

  private async pollOnce(): Promise<void> {
    const wanted = this.wanted();
    if (!wanted.tickets.size && !wanted.list && !wanted.audit) return;
    const changedTickets = new Set<number>();
    let listChanged = false;
    let auditChanged = false;
    try {
      const store = await this.runtime.store();
      if (wanted.tickets.size) {
        const ids = [...wanted.tickets];
        const { rows } = await store.query<Row>(
          `SELECT t.id::text AS id, t.updated_at::text AS updated, (SELECT max(e.id) FROM twl_ticket_events e WHERE e.ticket_id = t.id)::text AS last_event
             FROM twl_tickets t WHERE t.id = ANY($1::bigint[])`,
          [ids],
        );
        const now = new Map(rows.map((r) => [Number(r.id), `${str(r.updated)}|${str(r.last_event)}`]));
        for (const id of ids) {
          const state = now.get(id) ?? 'missing';
          const before = this.tickets.get(id);
          if (before !== undefined && before !== state) changedTickets.add(id);
          this.tickets.set(id, state);
        }
      }
      if (wanted.list) {
        const { rows } = await store.query<Row>('SELECT max(id)::text AS max_id, max(updated_at)::text AS updated, count(*)::text AS n FROM twl_tickets');
        const state = `${str(rows[0]?.max_id)}|${str(rows[0]?.updated)}|${str(rows[0]?.n)}`;
        listChanged = this.listState !== undefined && this.listState !== state;
        this.listState = state;
      }
      if (wanted.audit) {
        const { rows } = await store.query<Row>('SELECT max(id)::text AS max_id FROM twl_audit');
        const state = str(rows[0]?.max_id);
        auditChanged = this.auditState !== undefined && this.auditState !== state;
        this.auditState = state;
      }
      if (this.failing) this.runtime.logger.info('MCP resource watch: the store answers again');
      this.failing = false;
    } catch (err) {
      // Logged once per outage, not once a second.
      if (!this.failing) this.runtime.logger.warn({ err: (err as Error).message }, 'MCP resource watch: could not poll the store for changes; retrying every tick');
      this.failing = true;
      return;
    }
    if (!changedTickets.size && !listChanged && !auditChanged) return;
    for (const s of this.subscribers) {
      const tickets = [...s.tickets()].filter((id) => changedTickets.has(id));
      const list = listChanged && s.list();
      const audit = auditChanged && s.audit();
      if (tickets.length || list || audit) {
        try {
          s.changed({ tickets, list, audit });
        } catch (err) {
          this.runtime.logger.debug({ err: (err as Error).message }, 'MCP resource watch: a subscriber failed');
        }
      }
    }
  }
}

const watches = new WeakMap<Runtime, TicketWatch>();

/** The runtime's shared watcher (created on first use, with the first caller's interval). */
export function ticketWatch(runtime: Runtime, intervalMs?: number): TicketWatch {
  let watch = watches.get(runtime);
  if (!watch) {
    watch = new TicketWatch(runtime, intervalMs);
    watches.set(runtime, watch);
  }
  return watch;
}
