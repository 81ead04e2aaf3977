import type { Runtime } from '../runtime/context.js';

/**
 * Ticket numbers starting with the digits typed, the most recently updated first (at most 20):
 * what `twl://tickets/{id}` and the prompts' `ticket_id` complete. Gate it by the server's grant
 * (completerWithin, src/mcp/resource-grant.ts): tickets are twl's.
 */
export async function ticketIds(runtime: Runtime, value: string): Promise<string[]> {
  const store = await runtime.store();
  const { rows } = await store.query<{ id: unknown }>("SELECT id::text AS id FROM twl_tickets WHERE id::text LIKE $1 || '%' ORDER BY updated_at DESC, id DESC LIMIT 20", [value.replace(/\D/g, '')]);
  return rows.map((r) => String(r.id));
}
