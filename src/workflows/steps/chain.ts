import { z } from 'zod';
import type { StepKind } from '../types.js';
import { stepBase, stepList } from './base.js';

const schema = stepBase.extend({ kind: z.literal('chain'), steps: stepList }).strict();
export type ChainStep = z.output<typeof schema>;

/** Steps in order, each seeing the outputs of those before (`steps.<id>`); its output is the last one's. */
export const chainStep: StepKind<ChainStep> = {
  kind: 'chain',
  schema,
  children: (step) => [step.steps],
  run: (step, ctx) => ctx.runSteps(step.steps),
};
