import { z } from 'zod';
import { listTickets, statuses } from '../../agents/tickets/repo.js';
import { categories, priorities } from '../../agents/triage/taxonomy.js';
import { defineOp, readOnly } from '../op.js';
import { ticketSchema } from './schemas.js';

export default defineOp({
  id: 'ticket.list',
  mcpName: 'tickets_list_tickets',
  title: 'List tickets',
  description: 'Tickets filtered by status, category, priority and text, sorted by priority (then age), creation or update time.',
  input: z.object({
    status: z.array(z.enum(statuses)).optional(),
    category: z.array(z.enum(categories)).optional(),
    priority: z.array(z.enum(priorities)).optional(),
    text: z.string().min(1).max(200).optional().describe('Words in the title or text (case-insensitive).'),
    sort: z.enum(['priority', 'created', 'updated', 'id']).default('priority'),
    order: z.enum(['asc', 'desc']).optional().describe('Default: most urgent first for priority, newest first otherwise.'),
    limit: z.number().int().min(1).max(10_000).default(50),
    offset: z.number().int().min(0).default(0),
  }),
  output: z.object({ tickets: z.array(ticketSchema), total: z.number().int().describe('How many match, beyond the limit.') }),
  annotations: readOnly,
  policy: { minRole: 'viewer', needsApproval: false, timeoutMs: 15_000 },
  async run(ctx, filter) {
    return listTickets(await ctx.store(), filter);
  },
});
