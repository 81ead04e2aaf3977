import { TwlError } from '../../runtime/errors.js';
import type { Queryable } from '../../store/types.js';
import type { Category, Priority, Sentiment, Urgency } from '../triage/taxonomy.js';

export const statuses = ['new', 'triaged', 'in_progress', 'waiting_approval', 'resolved', 'closed', 'escalated', 'reopened'] as const;
export type Status = (typeof statuses)[number];
/** Statuses that still need someone: not yet resolved or closed. */
export const openStatuses = ['new', 'triaged', 'in_progress', 'waiting_approval', 'escalated', 'reopened'] as const satisfies readonly Status[];

export interface Ticket {
  id: number;
  title: string;
  text: string;
  requester: string | null;
  source: string;
  status: Status;
  category: Category | null;
  priority: Priority | null;
  sentiment: Sentiment | null;
  urgency: Urgency | null;
  confidence: number | null;
  needsHuman: boolean;
  assignedAgent: string | null;
  resolution: string | null;
  escalationReason: string | null;
  createdAt: string;
  updatedAt: string;
  resolvedAt: string | null;
  closedAt: string | null;
}

export interface TicketEvent {
  id: number;
  at: string;
  actor: string;
  kind: string;
  step: string | null;
  status: 'ok' | 'failed' | 'skipped' | 'cancelled' | 'waiting';
  input: unknown;
  output: unknown;
  decision: string | null;
  durationMs: number | null;
}

const iso = (v: unknown): string | null => (v === null || v === undefined ? null : new Date(v as string).toISOString());

const columns = `id, title, text, requester, source, status, category, priority, sentiment, urgency, confidence, needs_human, assigned_agent,
  resolution, escalation_reason, created_at, updated_at, resolved_at, closed_at`;

type Row = Record<string, unknown>;

export const toTicket = (r: Row): Ticket => ({
  id: Number(r.id),
  title: r.title as string,
  text: r.text as string,
  requester: (r.requester as string) ?? null,
  source: r.source as string,
  status: r.status as Status,
  category: (r.category as Category) ?? null,
  priority: (r.priority as Priority) ?? null,
  sentiment: (r.sentiment as Sentiment) ?? null,
  urgency: (r.urgency as Urgency) ?? null,
  confidence: r.confidence === null || r.confidence === undefined ? null : Number(r.confidence),
  needsHuman: Boolean(r.needs_human),
  assignedAgent: (r.assigned_agent as string) ?? null,
  resolution: (r.resolution as string) ?? null,
  escalationReason: (r.escalation_reason as string) ?? null,
  createdAt: iso(r.created_at)!,
  updatedAt: iso(r.updated_at)!,
  resolvedAt: iso(r.resolved_at),
  closedAt: iso(r.closed_at),
});

const toEvent = (r: Row): TicketEvent => ({
  id: Number(r.id),
  at: iso(r.at)!,
  actor: r.actor as string,
  kind: r.kind as string,
  step: (r.step as string) ?? null,
  status: r.status as TicketEvent['status'],
  input: r.input ?? null,
  output: r.output ?? null,
  decision: (r.decision as string) ?? null,
  durationMs: r.duration_ms === null || r.duration_ms === undefined ? null : Math.round(Number(r.duration_ms) * 10) / 10,
});

/** A title from the first line or sentence of the text, at most 80 characters. */
export function deriveTitle(text: string): string {
  const first = text.trim().split(/\r?\n|(?<=[.!?])\s/)[0]!.trim();
  return first.length <= 80 ? first : `${first.slice(0, 79).trimEnd()}…`;
}

export interface NewTicket {
  text: string;
  title?: string;
  requester?: string;
  source?: string;
}

export async function createTicket(q: Queryable, input: NewTicket, actor: string): Promise<Ticket> {
  const { rows } = await q.query<Row>(
    `WITH t AS (INSERT INTO twl_tickets (title, text, requester, source) VALUES ($1, $2, $3, $4) RETURNING ${columns}),
          e AS (INSERT INTO twl_ticket_events (ticket_id, actor, kind, output) SELECT id, $5, 'created', jsonb_build_object('source', source) FROM t)
     SELECT * FROM t`,
    [input.title?.trim() || deriveTitle(input.text), input.text, input.requester ?? null, input.source ?? 'cli', actor],
  );
  return toTicket(rows[0]!);
}

export async function getTicket(q: Queryable, id: number): Promise<Ticket> {
  const { rows } = await q.query<Row>(`SELECT ${columns} FROM twl_tickets WHERE id = $1`, [id]);
  if (!rows[0]) throw new TwlError('TWL_TICKET_NOT_FOUND', `No ticket #${id}.`);
  return toTicket(rows[0]);
}

/** Locks the ticket row for the rest of the transaction (one resolver at a time). */
export async function lockTicket(q: Queryable, id: number): Promise<Ticket> {
  const { rows } = await q.query<Row>(`SELECT ${columns} FROM twl_tickets WHERE id = $1 FOR UPDATE`, [id]);
  if (!rows[0]) throw new TwlError('TWL_TICKET_NOT_FOUND', `No ticket #${id}.`);
  return toTicket(rows[0]);
}

export async function ticketEvents(q: Queryable, id: number): Promise<TicketEvent[]> {
  const { rows } = await q.query<Row>('SELECT id, at, actor, kind, step, status, input, output, decision, duration_ms FROM twl_ticket_events WHERE ticket_id = $1 ORDER BY id', [id]);
  return rows.map(toEvent);
}

export interface EventInput {
  actor: string;
  kind: string;
  step?: string;
  status?: TicketEvent['status'];
  input?: unknown;
  output?: unknown;
  decision?: string;
  durationMs?: number;
}

export async function appendEvent(q: Queryable, ticketId: number, e: EventInput): Promise<TicketEvent> {
  const { rows } = await q.query<Row>(
    `INSERT INTO twl_ticket_events (ticket_id, actor, kind, step, status, input, output, decision, duration_ms)
     VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7::jsonb, $8, $9)
     RETURNING id, at, actor, kind, step, status, input, output, decision, duration_ms`,
    [ticketId, e.actor, e.kind, e.step ?? null, e.status ?? 'ok', e.input === undefined ? null : JSON.stringify(e.input), e.output === undefined ? null : JSON.stringify(e.output), e.decision ?? null, e.durationMs ?? null],
  );
  return toEvent(rows[0]!);
}

const updatable = {
  status: 'status',
  category: 'category',
  priority: 'priority',
  sentiment: 'sentiment',
  urgency: 'urgency',
  confidence: 'confidence',
  needsHuman: 'needs_human',
  assignedAgent: 'assigned_agent',
  resolution: 'resolution',
  escalationReason: 'escalation_reason',
  resolvedAt: 'resolved_at',
  closedAt: 'closed_at',
} as const;

export type TicketPatch = Partial<{ [K in keyof typeof updatable]: Ticket[K] }>;

export async function updateTicket(q: Queryable, id: number, patch: TicketPatch): Promise<Ticket> {
  const entries = Object.entries(patch).filter(([k, v]) => k in updatable && v !== undefined) as Array<[keyof typeof updatable, unknown]>;
  const sets = entries.map(([k], i) => `${updatable[k]} = $${i + 2}`);
  const { rows } = await q.query<Row>(`UPDATE twl_tickets SET ${[...sets, 'updated_at = now()'].join(', ')} WHERE id = $1 RETURNING ${columns}`, [id, ...entries.map(([, v]) => v)]);
  if (!rows[0]) throw new TwlError('TWL_TICKET_NOT_FOUND', `No ticket #${id}.`);
  return toTicket(rows[0]);
}

export interface ListFilter {
  status?: Status[];
  category?: Category[];
  priority?: Priority[];
  text?: string;
  sort: 'priority' | 'created' | 'updated' | 'id';
  order?: 'asc' | 'desc';
  limit: number;
  offset?: number;
}

const prioritySql = "CASE priority WHEN 'urgent' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 WHEN 'low' THEN 3 ELSE 4 END";

export async function listTickets(q: Queryable, f: ListFilter): Promise<{ tickets: Ticket[]; total: number }> {
  const where: string[] = [];
  const params: unknown[] = [];
  const add = (sql: (n: string) => string, value: unknown) => {
    params.push(value);
    where.push(sql(`$${params.length}`));
  };
  if (f.status?.length) add((n) => `status = ANY(${n}::text[])`, f.status);
  if (f.category?.length) add((n) => `category = ANY(${n}::text[])`, f.category);
  if (f.priority?.length) add((n) => `priority = ANY(${n}::text[])`, f.priority);
  if (f.text) add((n) => `(title ILIKE ${n} OR text ILIKE ${n})`, `%${f.text.replace(/[\\%_]/g, '\\$&')}%`);
  const clause = where.length ? `WHERE ${where.join(' AND ')}` : '';
  const dir = f.order === 'asc' ? 'ASC' : 'DESC';
  const order = {
    priority: `${prioritySql} ${f.order === 'desc' ? 'DESC' : 'ASC'}, created_at ASC, id ASC`,
    created: `created_at ${dir}, id ${dir}`,
    updated: `updated_at ${dir}, id ${dir}`,
    id: `id ${dir}`,
  }[f.sort];
  const { rows } = await q.query<Row>(
    `SELECT ${columns}, count(*) OVER () AS total FROM twl_tickets ${clause} ORDER BY ${order} LIMIT ${f.limit} OFFSET ${f.offset ?? 0}`,
    params,
  );
  return { tickets: rows.map(toTicket), total: rows[0] ? Number(rows[0].total) : 0 };
}

/** Where a ticket may go from each status. */
export const transitions: Record<Status, Status[]> = {
  new: ['triaged', 'in_progress', 'escalated', 'closed'],
  triaged: ['triaged', 'in_progress', 'escalated', 'closed'],
  in_progress: ['triaged', 'waiting_approval', 'resolved', 'escalated', 'closed'],
  waiting_approval: ['in_progress', 'escalated', 'closed'],
  resolved: ['closed', 'reopened'],
  closed: ['reopened'],
  escalated: ['triaged', 'in_progress', 'resolved', 'closed', 'reopened'],
  reopened: ['triaged', 'in_progress', 'escalated', 'closed'],
};

/** Moves a ticket to another status (refusing impossible moves) and records it on the timeline. */
export async function transition(q: Queryable, ticket: Ticket, to: Status, actor: string, patch: TicketPatch = {}, note?: string): Promise<Ticket> {
  if (!transitions[ticket.status].includes(to)) {
    throw new TwlError('TWL_TICKET_STATE', `Ticket #${ticket.id} is ${ticket.status}; it cannot become ${to}.`, {
      actions: [`From ${ticket.status} a ticket can become: ${transitions[ticket.status].join(', ') || 'nothing'}.`],
    });
  }
  const updated = await updateTicket(q, ticket.id, { ...patch, status: to });
  if (ticket.status !== to || note) {
    await appendEvent(q, ticket.id, { actor, kind: 'status', input: { from: ticket.status }, output: { to }, decision: `${ticket.status} → ${to}${note ? `: ${note}` : ''}` });
  }
  return updated;
}
