import { z } from 'zod';
import { getTicket, ticketEvents } from '../../agents/tickets/repo.js';
import { defineOp, readOnly } from '../op.js';
import { eventSchema, ticketId, ticketSchema } from './schemas.js';

export default defineOp({
  id: 'ticket.show',
  mcpName: 'tickets_get_ticket',
  title: 'Show a ticket and its timeline',
  description: 'The ticket with every recorded step: who did what, with its input, output, decision, status and duration.',
  input: z.object({ id: ticketId }),
  output: z.object({ ticket: ticketSchema, timeline: z.array(eventSchema) }),
  annotations: readOnly,
  policy: { minRole: 'viewer', needsApproval: false, timeoutMs: 15_000 },
  async run(ctx, { id }) {
    const store = await ctx.store();
    return { ticket: await getTicket(store, id), timeline: await ticketEvents(store, id) };
  },
});
