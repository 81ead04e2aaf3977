import { agentOf } from '../../ops/op.js';
import type { OpContext } from '../../runtime/context.js';
import { isTwlError, messageOf } from '../../runtime/errors.js';
import { appendEvent } from '../tickets/repo.js';
import { findings, type PlanStep } from './plan.js';

export interface StepReport {
  tool: string;
  output?: unknown;
  kind: PlanStep['kind'];
  purpose: string;
  status: 'ok' | 'failed' | 'skipped' | 'cancelled' | 'waiting';
  finding: string | null;
  durationMs: number;
  /** Why a skipped step did not run: a refusal (its code) or what else kept it from running (code null). */
  reason?: SkipReason;
}

/** Why a step does not run: a refusal's code (TWL_TOOL_UNKNOWN…) and message, or (code null) why Maestro held it back. */
export interface SkipReason {
  code: string | null;
  message: string;
}

/** A refusal: a reason with a code. */
export type StepRefusal = SkipReason & { code: string };

/**
 * The codes with which the catalog refuses a call before the tool runs (what `refusal()` answers), and
 * an input the tool's schema rejects: such a step did not run, so it found nothing either way.
 */
const refusalCodes = new Set(['TWL_TOOL_UNKNOWN', 'TWL_NAMESPACE_DENIED', 'TWL_UPSTREAM_QUARANTINED', 'TWL_ROLE_DENIED', 'TWL_INPUT_INVALID']);


/**
 * Runs one step through the tool catalog (a twl op or an upstream's tool), as the caller: same
 * role, face and actor, so the same role checks and audit rows apply. The plan asked for any
 * approval the step needs before it runs. With a ticket, recorded on its timeline with its
 * duration and what it found.
 */
export async function runStep(ctx: OpContext, step: PlanStep, ticketId: number | undefined): Promise<StepReport> {
  const started = performance.now();
  let status: StepReport['status'] = 'ok';
  let output: unknown;
  let finding: string | null = null;
  let refusal: SkipReason | undefined;
  try {
    const result = await ctx.tools.call(step.tool, step.input, { face: ctx.face, actor: ctx.actor, role: ctx.role, namespaces: ctx.namespaces, keyId: ctx.keyId, grantExpiresAt: ctx.grantExpiresAt, via: 'maestro', signal: ctx.signal, approved: true });
    output = result.structured ?? { content: result.content };
    if (result.isError) {
      status = 'failed';
      if (step.kind === 'check') finding = `${step.tool} answered with an error: ${errorText(result.content)}`;
    } else finding = (Object.hasOwn(findings, step.tool) ? findings[step.tool]?.(output as Record<string, unknown>) : undefined) ?? null;
  } catch (err) {
    if (isTwlError(err) && refusalCodes.has(err.code) && !ctx.signal.aborted) {
      // Refused before the tool ran (the plan's pre-flight saw it admitted: the catalog changed since).
      status = 'skipped';
      refusal = { code: err.code, message: err.message };
      output = { error: refusal };
    } else {
      status = ctx.signal.aborted ? 'cancelled' : 'failed';
      output = { error: isTwlError(err) ? err.toJSON() : messageOf(err) };
      if (step.kind === 'check' && status === 'failed') finding = `${step.tool} failed: ${messageOf(err)}`;
    }
  }
  const durationMs = performance.now() - started;
  if (ticketId !== undefined) await appendEvent(await ctx.store(), ticketId, {
    actor: agentOf(step.tool),
    kind: step.kind,
    step: step.tool,
    status: status === 'ok' && finding ? 'failed' : status,
    input: step.input,
    output,
    decision: finding ?? (status === 'ok' ? `${step.purpose}: ok` : refusal ? `${step.purpose}: refused (${refusal.code})` : `${step.purpose}: ${status}`),
    durationMs,
  });
  return { tool: step.tool, kind: step.kind, purpose: step.purpose, status, finding, durationMs: Math.round(durationMs * 10) / 10, output, ...(refusal ? { reason: refusal } : {}) };
}

/**
 * Why the catalog would not run a step for this caller, asked before any step of the plan runs:
 * its admission (an unknown tool, a quarantined upstream, a tool outside the caller's namespaces
 * or above its role), then, with `checkInput` (a runbook's steps, written in the configuration),
 * the input against the tool's own schema. Nothing is called or recorded here.
 */
export async function stepRefusal(ctx: OpContext, step: PlanStep, checkInput: boolean): Promise<StepRefusal | undefined> {
  const refused = await ctx.tools.refusal?.(step.tool, { namespaces: ctx.namespaces, role: ctx.role });
  if (refused) return { code: refused.code, message: refused.message };
  if (!checkInput) return undefined;
  const tool = await ctx.tools.get(step.tool, { namespaces: ctx.namespaces });
  if (!tool) return undefined;
  let problem: string | undefined;
  const op = tool.source === 'twl' ? (await ctx.runtime.ops()).get(step.tool) : undefined;
  if (op) {
    // twl's own tool: its zod schema, as the call will parse it (`twl config validate` checks the same).
    const parsed = op.input.safeParse(step.input);
    problem = parsed.success ? undefined : parsed.error.issues.map((i: { path: PropertyKey[]; message: string }) => `${i.path.length ? i.path.map(String).join('.') : '(the root)'}: ${i.message}`).join('; ');
  } else {
    const { validationProblem } = await import('../../workflows/llm-output.js');
    // A schema that cannot be compiled fails the step closed, as a workflow orchestrator's plan does.
    problem = await validationProblem(tool.inputSchema, step.input).catch((err: unknown) => `its input schema cannot be checked (${messageOf(err)})`);
  }
  return problem ? { code: 'TWL_INPUT_INVALID', message: `The input of ${step.tool} does not match the tool's schema: ${problem}.` } : undefined;
}

/**
 * Records a step that does not run. A refusal (a reason with a code) gets the audit row of the call
 * it would have been (`decision = refused`, its code, `via = maestro`: what the catalog writes for a
 * refused call); with a ticket, the step goes on its timeline as skipped, with the reason.
 */
export async function skipStep(ctx: OpContext, step: PlanStep, reason: SkipReason, ticketId: number | undefined): Promise<StepReport> {
  if (reason.code !== null) await ctx.tools.refused?.(step.tool, step.input, { face: ctx.face, actor: ctx.actor, role: ctx.role, namespaces: ctx.namespaces, via: 'maestro' }, reason.code);
  const output = reason.code !== null ? { error: reason } : { notRun: reason.message };
  const decision = reason.code !== null ? `${step.purpose}: refused (${reason.code}): ${reason.message}` : `${step.purpose}: not run: ${reason.message}`;
  if (ticketId !== undefined) await appendEvent(await ctx.store(), ticketId, { actor: 'maestro', kind: step.kind, step: step.tool, status: 'skipped', input: step.input, output, decision, durationMs: 0 });
  return { tool: step.tool, kind: step.kind, purpose: step.purpose, status: 'skipped', finding: null, durationMs: 0, output, reason };
}

/**
 * The catalog's tools as the planner sees them: read-only or not, and for an upstream's tool
 * whether it asks first (`approval: never` in its entry). A twl op's runbook step asks when the op writes.
 */
export async function plannerTools(ctx: OpContext): Promise<Map<string, { readOnly: boolean; needsApproval?: boolean }>> {
  return new Map((await ctx.tools.list({ namespaces: ctx.namespaces })).map((t) => [t.name, { readOnly: t.annotations.readOnlyHint, ...(t.source === 'twl' ? {} : { needsApproval: t.needsApproval }) }]));
}

/** The text of an error result, short. */
const errorText = (content: unknown[]): string =>
  content
    .map((c) => ((c as { type?: unknown }).type === 'text' ? String((c as { text?: unknown }).text) : ''))
    .join(' ')
    .slice(0, 500) || 'no detail';

export { agentOf } from '../../ops/op.js';
