import { Args, Flags } from '@oclif/core';
import type { Runtime } from '../runtime/context.js';
import { TwlError } from '../runtime/errors.js';
import type { Ticket, TicketEvent } from '../agents/tickets/repo.js';
import { redactText } from '../runtime/redact.js';
import { statusMark, table } from './render.js';

const age = (iso: string): string => {
  const minutes = Math.max(0, Math.round((Date.now() - new Date(iso).getTime()) / 60_000));
  if (minutes < 60) return `${minutes}m`;
  if (minutes < 48 * 60) return `${Math.round(minutes / 60)}h`;
  return `${Math.round(minutes / 1440)}d`;
};

export const ticketTable = (tickets: Ticket[]): string =>
  table(
    ['id', 'priority', 'status', 'category', 'sentiment', 'age', 'title'],
    tickets.map((t) => [`#${t.id}`, t.priority ?? '—', t.status, `${t.category ?? '—'}${t.needsHuman ? ' (?)' : ''}`, t.sentiment ?? '—', age(t.createdAt), t.title]),
  );

export function ticketDetail(t: Ticket): string {
  const lines = [
    `#${t.id} ${t.title}`,
    `status ${t.status} · priority ${t.priority ?? '—'} · category ${t.category ?? '—'}${t.confidence !== null ? ` (${t.confidence})` : ''}${t.needsHuman ? ' · needs a human' : ''}`,
    `sentiment ${t.sentiment ?? '—'} · urgency ${t.urgency ?? '—'} · requester ${t.requester ?? '—'} · source ${t.source}${t.assignedAgent ? ` · agent ${t.assignedAgent}` : ''}`,
    `created ${t.createdAt}${t.resolvedAt ? ` · resolved ${t.resolvedAt}` : ''}${t.closedAt ? ` · closed ${t.closedAt}` : ''}`,
    '',
    t.text,
  ];
  if (t.resolution) lines.push('', `Resolution: ${t.resolution}`);
  if (t.escalationReason) lines.push('', `Escalated: ${t.escalationReason}`);
  return lines.join('\n');
}

/** The error a step recorded in its output (`{ error: message | { code, message } }`), if any. */
export function stepError(output: unknown): string | null {
  const error = (output as { error?: unknown } | null)?.error;
  if (typeof error === 'string') return redactText(error);
  if (error && typeof error === 'object' && typeof (error as { message?: unknown }).message === 'string') {
    const { code, message } = error as { code?: unknown; message: string };
    return redactText(typeof code === 'string' ? `${message} (${code})` : message);
  }
  return null;
}

/** The errors of the timeline's steps, one line each and in full (the table cuts long decisions). */
export function timelineErrors(events: TicketEvent[]): string {
  const lines = events.flatMap((e) => {
    const error = e.status === 'ok' ? null : stepError(e.output);
    return error ? [`${statusMark[e.status]} ${e.at.slice(11, 23)} ${e.step ?? e.kind}: ${error}`] : [];
  });
  return lines.length ? `\n\nErrors\n${lines.join('\n')}` : '';
}

export const timelineTable = (events: TicketEvent[]): string =>
  table(
    ['', 'at', 'actor', 'step', 'ms', 'decision'],
    events.map((e) => [statusMark[e.status], e.at.slice(11, 23), e.actor, e.step ?? e.kind, e.durationMs ?? '', (e.decision ?? '').replace(/\s+/g, ' ')]),
  );

/** A ticket argument: a number, or `last` for the newest ticket. */
export const ticketArg = Args.string({ description: 'The ticket number, or `last` for the newest.', required: true });
/** The same, optional (a command that also works without a ticket). */
export const optionalTicketArg = Args.string({ description: 'The ticket number, or `last` for the newest.' });
/** A `--ticket` flag taking a number or `last`. */
export const ticketFlag = (description: string, options: { exclusive?: string[] } = {}) => Flags.string({ description: `${description} A ticket number, or \`last\` for the newest.`, ...options });

export async function ticketIdOf(raw: string, runtime: () => Promise<Runtime>): Promise<number> {
  if (/^\d+$/.test(raw) && Number(raw) > 0) return Number(raw);
  if (raw !== 'last') throw new TwlError('TWL_INPUT_INVALID', `"${raw}" is not a ticket: expected a ticket number or last.`);
  const store = await (await runtime()).store();
  const { rows } = await store.query<{ id: string }>('SELECT max(id) AS id FROM twl_tickets');
  if (rows[0]?.id === null || rows[0]?.id === undefined) throw new TwlError('TWL_TICKET_NOT_FOUND', 'There is no ticket yet.', { actions: ['Create one with `twl ticket create "…"`.'] });
  return Number(rows[0].id);
}
