import { z } from 'zod';
import { createTicket } from '../../agents/tickets/repo.js';
import { defineOp } from '../op.js';
import { actorOf, ticketSchema } from './schemas.js';

export default defineOp({
  id: 'ticket.create',
  mcpName: 'tickets_create_ticket',
  title: 'Create a ticket',
  description: 'Records a new ticket (status new) from its text; the title is derived from the first line when not given. Triage happens on classify or resolve.',
  input: z.object({
    text: z.string().trim().min(1, 'expected the ticket text').max(50_000).describe('What the requester wrote.'),
    title: z.string().trim().min(1).max(200).optional(),
    requester: z.string().trim().min(1).max(200).optional().describe('Who asked (name or email).'),
    source: z.string().trim().min(1).max(50).optional().describe('Where it came from (email, import, …); by default the face it came through: cli, mcp or rest.'),
  }),
  output: ticketSchema,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  policy: { minRole: 'operator', needsApproval: false, timeoutMs: 15_000 },
  async run(ctx, input) {
    return createTicket(await ctx.store(), { ...input, source: input.source ?? ctx.face }, actorOf(ctx));
  },
});
