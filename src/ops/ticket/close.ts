import { z } from 'zod';
import { getTicket, transition } from '../../agents/tickets/repo.js';
import { defineOp } from '../op.js';
import { actorOf, ticketId, ticketSchema } from './schemas.js';

export default defineOp({
  id: 'ticket.close',
  mcpName: 'tickets_close_ticket',
  title: 'Close a ticket',
  description: 'Closes a ticket, with an optional note on the timeline. A closed ticket can be reopened.',
  input: z.object({ id: ticketId, note: z.string().trim().min(1).max(5000).optional().describe('Why it is closed.') }),
  output: ticketSchema,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  policy: { minRole: 'operator', needsApproval: false, timeoutMs: 15_000 },
  async run(ctx, { id, note }) {
    const store = await ctx.store();
    return store.transaction(async (tx) => transition(tx, await getTicket(tx, id), 'closed', actorOf(ctx), { closedAt: new Date().toISOString() }, note));
  },
});
