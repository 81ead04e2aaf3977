import { invoke } from '../../ops/invoke.js';
import { agentOf, type AnyOp } from '../../ops/op.js';
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


/** Runs one step as an op call; with a ticket, recorded on its timeline with its duration and what it found. */
export async function runStep(ctx: OpContext, ops: Map<string, AnyOp>, step: PlanStep, ticketId: number | undefined): Promise<StepReport> {
  const op = ops.get(step.tool);
  const started = performance.now();
  let status: StepReport['status'] = 'ok';
  let output: unknown;
  let finding: string | null = null;
  if (!op) {
    status = 'skipped';
    finding = null;
    output = { error: `no tool named ${step.tool}` };
  } else {
    try {
      output = await invoke(op, ctx.runtime, step.input, { signal: ctx.signal, ask: async () => true, caller: { face: ctx.face, actor: ctx.actor } });
      finding = findings[step.tool]?.(output as Record<string, unknown>) ?? null;
    } catch (err) {
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

export { agentOf } from '../../ops/op.js';
