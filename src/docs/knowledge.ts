import { TwlError } from '../runtime/errors.js';
import type { Queryable } from '../store/types.js';

/** The words a ticket is about (title and text), for searching the index with them. */
export async function ticketQuery(q: Queryable, ticket: number, extra?: string): Promise<string> {
  const { rows } = await q.query<{ title: string; text: string }>('SELECT title, text FROM twl_tickets WHERE id = $1', [ticket]);
  if (!rows[0]) throw new TwlError('TWL_TICKET_NOT_FOUND', `No ticket #${ticket}.`);
  return [rows[0].title, rows[0].text, extra ?? ''].join(' ').trim();
}
