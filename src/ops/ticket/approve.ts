import { z } from 'zod';
import { APPROVE_TOOL, resolveTicket } from '../../agents/maestro/resolver.js';
import type { PlanStep } from '../../agents/maestro/plan.js';
import { appendEvent, getTicket, ticketEvents } from '../../agents/tickets/repo.js';
import { TwlError } from '../../runtime/errors.js';
import { defineOp } from '../op.js';
import { resolveOutput, resolveProgress, toResolveOutput } from './resolve.js';
import { actorOf, ticketId } from './schemas.js';

/** JSON with sorted keys: a step's input as planned and as read back from the timeline (jsonb reorders keys) compare equal. */
const canonical = (value: unknown): string =>
  JSON.stringify(value, (_key, v: unknown) => (v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b))) : v));

export default defineOp({
  id: 'ticket.approve',
  mcpName: APPROVE_TOOL,
  title: 'Approve the step a ticket waits for',
  description:
    'For a ticket waiting_approval: approves the step it waits for (the one named on its timeline, with its input), records who approved it on the timeline, and resumes resolving. ' +
    'The approval covers that step only: another step that needs approval asks again (or waits again). This is the approval path for REST and MCP clients that cannot answer a question during a call; it needs the manager role, so a key that may resolve tickets (operator) cannot approve its own fixes.',
  input: z.object({
    ticket_id: ticketId,
    step: z.string().min(1).max(200).optional().describe('The tool of the step being approved, as the ticket shows it: refused if the ticket waits for another one.'),
  }),
  output: resolveOutput.extend({
    approved: z.object({
      tool: z.string(),
      input: z.unknown(),
      by: z.string().describe('Who approved it (as on the timeline).'),
      used: z.boolean().describe('Whether the resolver reached the step and ran it with this approval (false when the new plan no longer had it).'),
    }),
  }),
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
  policy: { minRole: 'manager', needsApproval: false, timeoutMs: 900_000 },
  async run(ctx, { ticket_id, step: named }) {
    const store = await ctx.store();
    const ticket = await getTicket(store, ticket_id);
    if (ticket.status !== 'waiting_approval') {
      throw new TwlError('TWL_TICKET_STATE', `Ticket #${ticket_id} is ${ticket.status}, not waiting for approval: there is nothing to approve.`, {
        actions: [`Run \`twl ticket show ${ticket_id}\` to see its timeline, or \`twl ticket resolve ${ticket_id}\` to resolve it.`],
      });
    }
    const waiting = (await ticketEvents(store, ticket_id)).findLast((e) => e.kind === 'approval' && e.status === 'waiting' && e.step);
    if (!waiting) throw new TwlError('TWL_TICKET_STATE', `Ticket #${ticket_id} is waiting_approval, but its timeline names no step waiting for approval.`, { actions: [`Run \`twl ticket resolve ${ticket_id}\` to plan it again.`] });
    const tool = waiting.step!;
    if (named !== undefined && named !== tool) {
      throw new TwlError('TWL_TICKET_STATE', `Ticket #${ticket_id} waits for approval of ${tool}, not ${named}.`, { actions: [`Run \`twl ticket show ${ticket_id}\` to see the step and its input.`] });
    }
    const by = actorOf(ctx);
    await appendEvent(store, ticket_id, { actor: by, kind: 'approval', step: tool, status: 'ok', input: waiting.input, decision: `approved through ${APPROVE_TOOL} (${ctx.face}); resolving resumes` });
    const approvedInput = canonical(waiting.input);
    let used = false;
    const report = await resolveTicket(ctx, ticket_id, by, {
      approve: (step: PlanStep) => {
        if (!used && step.tool === tool && canonical(step.input) === approvedInput) {
          used = true;
          return Promise.resolve(true);
        }
        return ctx.ask(`Run ${step.tool} ${JSON.stringify(step.input)} (${step.purpose})?`);
      },
      progress: resolveProgress(ctx),
    });
    return { ...toResolveOutput(report), approved: { tool, input: waiting.input, by, used } };
  },
});
