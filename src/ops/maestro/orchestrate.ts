import { z } from 'zod';
import { deterministicPlan } from '../../agents/maestro/plan.js';
import { resolveTicket, withRefusals } from '../../agents/maestro/resolver.js';
import { plannerTools, runStep, skipStep } from '../../agents/maestro/steps.js';
import { classifyTicket } from '../../agents/triage/llm-classifier.js';
import { namedServices } from '../../agents/triage/services.js';
import { maestroDecisions } from '../../runtime/metrics.js';
import { defineOp } from '../op.js';
import { resolveOutput, stepSchema, toResolveOutput } from '../ticket/resolve.js';
import { actorOf, classificationSchema, ticketId } from '../ticket/schemas.js';

export default defineOp({
  id: 'maestro.orchestrate',
  mcpName: 'maestro_orchestrate',
  title: 'Orchestrate the agents',
  description:
    'Runs a ticket through the agents (as ticket resolve does), or investigates a goal stated in words without creating a ticket: classifies it, plans, and runs the read-only checks of the plan (never a fix), reporting what they found.',
  input: z
    .object({
      ticket_id: ticketId.optional().describe('Resolve this ticket.'),
      goal: z.string().trim().min(1).max(20_000).optional().describe('Investigate this, read-only, without a ticket.'),
    })
    .refine((v) => (v.ticket_id === undefined) !== (v.goal === undefined), 'expected exactly one of ticket_id and goal'),
  output: z.object({
    mode: z.enum(['ticket', 'goal']),
    resolution: resolveOutput.nullable(),
    investigation: z
      .object({ classification: classificationSchema, rationale: z.array(z.string()), steps: z.array(stepSchema), findings: z.array(z.string()), skippedFixes: z.array(z.string()) })
      .nullable(),
  }),
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
  policy: { minRole: 'operator', needsApproval: false, timeoutMs: 900_000 },
  async run(ctx, { ticket_id, goal }) {
    if (ticket_id !== undefined) {
      const report = await resolveTicket(ctx, ticket_id, actorOf(ctx), { approve: (step) => ctx.ask(`Run ${step.tool} (${step.purpose})?`) });
      return { mode: 'ticket' as const, resolution: toResolveOutput(report), investigation: null };
    }
    const classification = await classifyTicket(goal!, ctx.llm(), ctx.signal, namedServices(ctx.config));
    const tools = await plannerTools(ctx);
    // A step the catalog refuses for this caller is reported (and audited) as refused, never called.
    const plan = await withRefusals(ctx, deterministicPlan({ text: goal!, category: classification.category, config: ctx.config, tools }));
    maestroDecisions.inc({ decision_type: 'plan' });
    const checks = plan.steps.filter((s) => s.refusal || (!s.needsApproval && tools.get(s.tool)?.readOnly));
    const steps = [];
    for (const [index, step] of checks.entries()) {
      ctx.progress({ message: `${step.tool} — ${step.purpose}`, done: index, total: checks.length, status: 'running' });
      const { output: _output, ...report } = step.refusal ? await skipStep(ctx, step, step.refusal, undefined) : await runStep(ctx, step, undefined);
      steps.push(report);
    }
    return {
      mode: 'goal' as const,
      resolution: null,
      investigation: {
        classification,
        rationale: plan.rationale,
        steps,
        findings: steps.flatMap((s) => (s.finding ? [s.finding] : [])),
        skippedFixes: plan.steps.filter((s) => !checks.includes(s)).map((s) => `${s.tool} (${s.purpose}): a fix runs only on a ticket, with approval`),
      },
    };
  },
});
