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
}


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
  try {
    const result = await ctx.tools.call(step.tool, step.input, { face: ctx.face, actor: ctx.actor, role: ctx.role, namespaces: ctx.namespaces, keyId: ctx.keyId, via: 'maestro', signal: ctx.signal, approved: true });
    output = result.structured ?? { content: result.content };
    if (result.isError) {
      status = 'failed';
      if (step.kind === 'check') finding = `${step.tool} answered with an error: ${errorText(result.content)}`;
    } else finding = (Object.hasOwn(findings, step.tool) ? findings[step.tool]?.(output as Record<string, unknown>) : undefined) ?? null;
  } catch (err) {
    if (isTwlError(err) && err.code === 'TWL_TOOL_UNKNOWN') {
      status = 'skipped';
      output = { error: `no tool named ${step.tool}` };
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
    decision: finding ?? (status === 'ok' ? `${step.purpose}: ok` : `${step.purpose}: ${status}`),
    durationMs,
  });
  return { tool: step.tool, kind: step.kind, purpose: step.purpose, status, finding, durationMs: Math.round(durationMs * 10) / 10, output };
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
