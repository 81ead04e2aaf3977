import { z } from 'zod';
import type { StepKind } from '../types.js';
import { stepBase, templateObject } from './base.js';

const schema = stepBase.extend({ kind: z.literal('tool'), tool: z.string().min(1).max(200), input: templateObject.default({}) }).strict();
export type ToolStep = z.output<typeof schema>;

/** One catalog tool (twl's own or an upstream's), its input rendered from the scope. */
export const toolStep: StepKind<ToolStep> = {
  kind: 'tool',
  schema,
  tools: (step) => [step.tool],
  async run(step, ctx) {
    return ctx.callTool(step.tool, (await ctx.render(step.input)) as Record<string, unknown>);
  },
};
