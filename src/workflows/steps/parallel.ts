import { z } from 'zod';
import { TwlError, isTwlError, messageOf } from '../../runtime/errors.js';
import { ApprovalPending, WorkflowStopped } from '../control.js';
import type { StepKind } from '../types.js';
import { rawStep, stepBase } from './base.js';

const schema = stepBase
  .extend({
    kind: z.literal('parallel'),
    /** At most this many branches at a time. */
    concurrency: z.number().int().min(1).max(64).default(4),
    branches: z.array(rawStep).min(1, 'expected at least one branch').max(100),
    /** An expression over the scope plus `branches` (outputs by branch id) and `failed`: the step's output. */
    aggregate: z.string().min(1).optional(),
  })
  .strict();
export type ParallelStep = z.output<typeof schema>;

export interface BranchFailure {
  id: string;
  status: 'failed' | 'stopped' | 'cancelled' | 'waiting_approval';
  code: string;
  message: string;
}

/**
 * Fan-out: each branch (a step; a chain for several) runs with at most `concurrency` at a time; all
 * are awaited (all-settled), failures reported per branch. The step fails only when every branch failed.
 */
export const parallelStep: StepKind<ParallelStep> = {
  kind: 'parallel',
  schema,
  children: (step) => step.branches.map((b) => [b]),
  expressions: (step) => (step.aggregate ? [{ field: 'aggregate', expr: step.aggregate, after: true }] : []),
  async run(step, ctx) {
    const { default: PQueue } = await import('p-queue');
    const queue = new PQueue({ concurrency: step.concurrency });
    const settled = await Promise.allSettled(step.branches.map((branch) => queue.add(() => ctx.runSteps([branch]), { signal: ctx.signal })));
    const branches: Record<string, unknown> = {};
    const failed: BranchFailure[] = [];
    settled.forEach((s, i) => {
      const id = step.branches[i]!.id;
      if (s.status === 'fulfilled') branches[id] = s.value;
      else {
        const err = s.reason as unknown;
        const status = err instanceof WorkflowStopped ? 'stopped' : err instanceof ApprovalPending ? 'waiting_approval' : ctx.signal.aborted ? 'cancelled' : 'failed';
        failed.push({ id, status, code: isTwlError(err) ? err.code : status === 'failed' ? 'TWL_WORKFLOW_STEP_FAILED' : status.toUpperCase(), message: messageOf(err) });
      }
    });
    ctx.decide(`${settled.length - failed.length} of ${settled.length} branches ok`, { failed: failed.map((f) => f.id) });
    if (ctx.signal.aborted) throw ctx.signal.reason;
    const waiting = settled.find((s) => s.status === 'rejected' && s.reason instanceof ApprovalPending);
    if (waiting) throw (waiting as PromiseRejectedResult).reason;
    if (failed.length === settled.length && failed.every((f) => f.status === 'failed')) {
      throw new TwlError('TWL_WORKFLOW_STEP_FAILED', `Every branch of ${ctx.path} failed: ${failed.map((f) => `${f.id}: ${f.message}`).join('; ').slice(0, 2000)}`, { details: { failed } });
    }
    const result = { branches, failed, ok: Object.keys(branches) };
    return step.aggregate ? ctx.evaluate(step.aggregate, result) : result;
  },
};
