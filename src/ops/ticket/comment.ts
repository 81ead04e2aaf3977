import { z } from 'zod';
import { appendEvent, getTicket } from '../../agents/tickets/repo.js';
import { defineOp } from '../op.js';
import { actorOf, eventSchema, ticketId } from './schemas.js';

export default defineOp({
  id: 'ticket.comment',
  mcpName: 'tickets_comment_ticket',
  title: 'Comment on a ticket',
  description: 'Adds a comment to the ticket\'s timeline.',
  input: z.object({ id: ticketId, text: z.string().trim().min(1, 'expected the comment text').max(20_000) }),
  output: eventSchema,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  policy: { minRole: 'operator', needsApproval: false, timeoutMs: 15_000 },
  async run(ctx, { id, text }) {
    const store = await ctx.store();
    await getTicket(store, id);
    return appendEvent(store, id, { actor: actorOf(ctx), kind: 'comment', decision: text });
  },
});
