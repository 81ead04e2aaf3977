import { z } from 'zod';
import { getTicket, transition } from '../../agents/tickets/repo.js';
import { defineOp } from '../op.js';
import { actorOf, ticketId, ticketSchema } from './schemas.js';

export default defineOp({
  id: 'ticket.reopen',
  mcpName: 'tickets_reopen_ticket',
  title: 'Reopen a ticket',
  description: 'Reopens a resolved, closed or escalated ticket (status reopened), with the reason on the timeline; resolve it again to re-run the agents.',
  input: z.object({ id: ticketId, note: z.string().trim().min(1).max(5000).optional().describe('Why it is reopened.') }),
  output: ticketSchema,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  policy: { minRole: 'operator', needsApproval: false, timeoutMs: 15_000 },
  async run(ctx, { id, note }) {
    const store = await ctx.store();
    return store.transaction(async (tx) => transition(tx, await getTicket(tx, id), 'reopened', actorOf(ctx), { resolvedAt: null, closedAt: null }, note));
  },
});
