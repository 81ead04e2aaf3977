import { z } from 'zod';
import { TwlError } from '../../runtime/errors.js';
import { ApprovalPending, WorkflowStopped } from '../control.js';
import type { StepKind } from '../types.js';
import { stepBase } from './base.js';

const schema = stepBase
  .extend({
    kind: z.literal('gate'),
    /** The condition (JSONata over the outputs so far): when true, the gate acts. */
    if: z.string().min(1),
    /** stop: the run ends here, successfully (stopped); fail: the run fails; ask: a person decides whether to go on. */
    then: z.enum(['stop', 'fail', 'ask']),
    /** Said when the gate acts (a template). */
    message: z.string().max(2000).optional(),
  })
  .strict();
export type GateStep = z.output<typeof schema>;

/** A condition over earlier outputs: when it holds, the run stops, fails, or asks a person whether to continue. */
export const gateStep: StepKind<GateStep> = {
  kind: 'gate',
  schema,
  expressions: (step) => [{ field: 'if', expr: step.if }],
  async run(step, ctx) {
    const hit = Boolean(await ctx.evaluate(step.if));
    if (!hit) {
      ctx.decide('pass', { if: step.if });
      return { passed: true };
    }
    const message = step.message ? String(await ctx.render(step.message)) : `Gate ${step.id}: ${step.if}`;
    if (step.then === 'stop') {
      ctx.decide('stop', { if: step.if, message });
      throw new WorkflowStopped(message);
    }
    if (step.then === 'fail') {
      ctx.decide('fail', { if: step.if, message });
      throw new TwlError('TWL_WORKFLOW_GATE', `${message} (gate ${ctx.path} of workflow ${ctx.workflow}).`);
    }
    const answer = await ctx.ask(`${message} Continue the workflow ${ctx.workflow}?`);
    if (answer === undefined) {
      ctx.decide('waiting', { if: step.if, message });
      throw new ApprovalPending(message);
    }
    ctx.decide(answer ? 'approved' : 'refused', { if: step.if, message });
    if (!answer) throw new TwlError('TWL_APPROVAL_REQUIRED', `${message}: not approved at gate ${ctx.path} of workflow ${ctx.workflow}.`);
    return { passed: false, approved: true };
  },
};
