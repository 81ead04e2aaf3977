import { z } from 'zod';
import { resolveTicket, type ResolveHooks, type ResolveReport } from '../../agents/maestro/resolver.js';
import type { OpContext } from '../../runtime/context.js';
import { defineOp } from '../op.js';
import { actorOf, ticketId, ticketSchema } from './schemas.js';

export const stepSchema = z.object({
  tool: z.string(),
  kind: z.enum(['check', 'fix']),
  purpose: z.string(),
  status: z.enum(['ok', 'failed', 'skipped', 'cancelled', 'waiting']),
  finding: z.string().nullable().describe('What the step found wrong, if anything.'),
  durationMs: z.number(),
  reason: z
    .object({ code: z.string().nullable(), message: z.string() })
    .optional()
    .describe('Why a skipped step did not run: a refusal (its code, e.g. TWL_TOOL_UNKNOWN, with an audit row that keeps the real reason, e.g. TWL_NAMESPACE_DENIED), or why Maestro held it back (code null: a fix while a step of the plan could not run).'),
});

const refusalSchema = z.object({ code: z.string(), message: z.string() });

export const resolveOutput = z.object({
  ticket: ticketSchema,
  outcome: z.enum(['resolved', 'escalated', 'waiting_approval', 'interrupted']),
  summary: z.string().describe('The resolution, or why it escalated, waits or stopped.'),
  plan: z.object({
    planner: z.enum(['deterministic', 'llm']),
    rationale: z.array(z.string()),
    runbook: z.string().nullable(),
    steps: z.array(
      z.object({
        tool: z.string(),
        kind: z.enum(['check', 'fix']),
        purpose: z.string(),
        needsApproval: z.boolean(),
        refused: refusalSchema.optional().describe('Refused for this caller before any step ran (never called): while a step cannot run, no fix runs and the ticket escalates.'),
      }),
    ),
  }),
  steps: z.array(stepSchema),
  diagnosis: z.string().nullable(),
  timeToResolveMs: z.number().nullable(),
});

/** A resolver report as the tool's output: the plan and steps without their internals. */
export const toResolveOutput = (report: ResolveReport): z.output<typeof resolveOutput> => ({
  ...report,
  plan: { planner: report.plan.planner, rationale: report.plan.rationale, runbook: report.plan.runbook?.name ?? null, steps: report.plan.steps.map(({ tool, kind, purpose, needsApproval, refusal }) => ({ tool, kind, purpose, needsApproval, ...(refusal ? { refused: refusal } : {}) })) },
  steps: report.steps.map(({ tool, kind, purpose, status, finding, durationMs, reason }) => ({ tool, kind, purpose, status, finding, durationMs, ...(reason ? { reason } : {}) })),
});

/** The resolver's progress as the op's progress updates (a line per step for the CLI, notifications over MCP). */
export const resolveProgress =
  (ctx: OpContext): NonNullable<ResolveHooks['progress']> =>
  ({ step, index, total, status, finding }) =>
    // A step that ran but found a fault (a service down) shows as failed, as on the timeline.
    ctx.progress({ message: `${step.tool}${status === 'running' ? ` — ${step.purpose}` : finding ? ` — ${finding}` : ''}`, done: index, total, status: status === 'ok' && finding ? 'failed' : status });

export default defineOp({
  id: 'ticket.resolve',
  mcpName: 'real-resolver_resolve_ticket',
  title: 'Resolve a ticket',
  description:
    'Runs the ticket through the agents: sentiment and classification, a plan from Maestro (checks for its category, then a matching runbook), the checks and fixes ' +
    '(fixes that need approval ask, or stop at waiting_approval until `ticket approve`), then resolves it or escalates it with the reason. Every step goes on the timeline with its duration. ' +
    'A step the caller cannot run (a tool outside its key\'s namespaces, unknown, of a quarantined upstream, above its role, or an input the tool refuses) is refused before any step runs: audited, recorded as skipped with the reason, never called; then no fix runs and the ticket escalates.',
  input: z.object({
    ticket_id: ticketId,
    force: z.boolean().default(false).describe('Take over a ticket left in_progress by a resolver that was killed.'),
  }),
  output: resolveOutput,
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
  policy: { minRole: 'operator', needsApproval: false, timeoutMs: 900_000 },
  async run(ctx, { ticket_id, force }) {
    const report = await resolveTicket(ctx, ticket_id, actorOf(ctx), {
      force,
      approve: (step) => ctx.ask(`Run ${step.tool} ${JSON.stringify(step.input)} (${step.purpose})?`),
      progress: resolveProgress(ctx),
    });
    return toResolveOutput(report);
  },
});
