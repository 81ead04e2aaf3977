import { z } from 'zod';
import { getTicket } from '../../agents/tickets/repo.js';
import { assessTicket, recordTriage } from '../../agents/tickets/triage.js';
import { classifyTicket } from '../../agents/triage/llm-classifier.js';
import { namedServices } from '../../agents/triage/services.js';
import { defineOp } from '../op.js';
import { actorOf, classificationSchema, ticketId } from './schemas.js';

export default defineOp({
  id: 'ticket.classify',
  mcpName: 'real-classifier_classify_ticket',
  title: 'Classify a ticket',
  description:
    'Category (application, server, network, database, security, access, hardware, email, storage, other) and priority (urgent, high, medium, low), with confidences and reasons. ' +
    'Uses a calibrated model trained on labelled tickets (a configured service named in the text points at its categories); with an LLM configured, asks it with the nearest labelled tickets as examples, accepts only taxonomy labels, falls back to the model and records any disagreement. Low confidence marks the ticket for a human. ' +
    'Given ticket_id, the result is stored on the ticket and its timeline.',
  input: z
    .object({
      ticket_text: z.string().trim().min(1).max(50_000).optional().describe('The text to classify (nothing is stored).'),
      ticket_id: ticketId.optional().describe('A stored ticket: classify it and record the result.'),
    })
    .refine((v) => (v.ticket_text === undefined) !== (v.ticket_id === undefined), 'expected exactly one of ticket_text and ticket_id'),
  output: classificationSchema.extend({ ticketId: z.number().int().nullable() }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  policy: { minRole: 'operator', needsApproval: false, timeoutMs: 120_000 },
  async run(ctx, { ticket_text, ticket_id }) {
    if (ticket_text !== undefined) return { ...(await classifyTicket(ticket_text, ctx.llm(), ctx.signal, namedServices(ctx.config))), ticketId: null };
    const store = await ctx.store();
    const ticket = await getTicket(store, ticket_id!);
    const assessment = await assessTicket(ticket, ctx.llm(), ctx.signal, namedServices(ctx.config));
    await store.transaction(async (tx) => recordTriage(tx, await getTicket(tx, ticket.id), assessment, actorOf(ctx)));
    return { ...assessment.classification, ticketId: ticket.id };
  },
});
