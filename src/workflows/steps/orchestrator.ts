import { z } from 'zod';
import { TwlError, isTwlError, messageOf } from '../../runtime/errors.js';
import type { CatalogTool } from '../../tools/types.js';
import { ApprovalPending } from '../control.js';
import { PLAN_SHAPE, allowedBy, askLlm, planFormat, validatePlan, type PlannedCall } from '../llm-output.js';
import type { StepKind } from '../types.js';
import { stepBase, templateObject } from './base.js';
import { onAttempt, promptText, requireLlm, retriesField } from './llm.js';

const llmPlanner = z.strictObject({
  llm: z.strictObject({
    prompt: z.string().min(1).max(100_000),
    system: z.string().max(20_000).optional(),
    /** Globs over the catalog's tool names: the only tools the plan may call (`monitoring_*`). */
    tools: z.array(z.string().min(1).max(200)).min(1, 'expected at least one tool glob'),
    retries: retriesField,
  }),
});
const mapPlanner = z.strictObject({
  /** An expression giving a list: one call per item (`item` and `index` in the call's input templates). */
  map: z.string().min(1),
  call: z.strictObject({ tool: z.string().min(1).max(200), input: templateObject.default({}) }),
});

const schema = stepBase
  .extend({
    kind: z.literal('orchestrator'),
    planner: z.union([llmPlanner, mapPlanner]),
    /** A plan with more calls is rejected before anything runs. */
    maxCalls: z.number().int().min(1).max(100).default(10),
    /** At most this many worker calls at a time. */
    concurrency: z.number().int().min(1).max(32).default(3),
  })
  .strict();
export type OrchestratorStep = z.output<typeof schema>;

/** One worker call as it ended. */
export interface WorkerResult {
  tool: string;
  input: Record<string, unknown>;
  why?: string;
  status: 'ok' | 'failed';
  output?: unknown;
  error?: { code: string; message: string };
}

/** What the planner model is shown of each tool it may call. */
const describeTool = (t: CatalogTool): string => `- ${t.name}: ${t.description.slice(0, 300)}\n  input schema: ${JSON.stringify(t.inputSchema).slice(0, 1500)}`;

/**
 * Orchestrator-workers: a planner (the LLM held to a plan schema naming the allowed tools, or a
 * `map` rule over a list) produces worker calls; the whole plan is checked before any call runs
 * (count, allowed globs, known tool, input valid for the tool's schema) and rejected with every
 * reason (TWL_WORKFLOW_PLAN_INVALID); then the calls run, at most `concurrency` at a time, all
 * awaited. Planned inputs go to the catalog as they are: they are never rendered as templates.
 */
export const orchestratorStep: StepKind<OrchestratorStep> = {
  kind: 'orchestrator',
  schema,
  expressions: (step) => ('map' in step.planner ? [{ field: 'planner.map', expr: step.planner.map }] : []),
  tools: (step) => ('map' in step.planner ? [step.planner.call.tool] : []),
  async run(step, ctx) {
    const catalog = new Map((await ctx.tools()).map((t) => [t.name, t]));
    const tool = async (name: string) => catalog.get(name);
    let plan: unknown;
    let allowed: string[];
    let by: 'llm' | 'map';
    let overflow: number | undefined;
    if ('llm' in step.planner) {
      const p = step.planner.llm;
      const llm = requireLlm(ctx, 'an orchestrator with an llm planner');
      allowed = p.tools;
      const offered = [...catalog.values()].filter((t) => allowedBy(allowed)(t.name));
      if (!offered.length) throw new TwlError('TWL_WORKFLOW_PLAN_INVALID', `No tool this run may call matches the planner's tools (${allowed.join(', ')}) at ${ctx.path} of workflow ${ctx.workflow}: nothing ran.`);
      const prompt = [
        promptText(await ctx.render(p.prompt)),
        `Plan the tool calls that answer this: at most ${step.maxCalls}, as {"calls": [{"tool": "<name>", "input": {…}, "why": "<short reason>"}]}. Use only these tools, with inputs valid for their schemas:`,
        offered.map(describeTool).join('\n'),
      ].join('\n\n');
      const system = p.system === undefined ? undefined : promptText(await ctx.render(p.system));
      ctx.progress(`asking ${llm.model} for a plan over ${offered.length} tools`);
      // The model is held to the offered names and the count; the answer is checked for its shape only,
      // so that a call outside them is rejected below with its reason rather than asked again.
      const answer = await askLlm(llm, { prompt, system, format: planFormat(offered.map((t) => t.name), step.maxCalls), validate: PLAN_SHAPE, retries: p.retries, signal: ctx.signal, onAttempt: onAttempt(ctx, p.retries) });
      plan = answer.value;
      by = 'llm';
    } else {
      const { map, call } = step.planner;
      const listed = await ctx.evaluate(map);
      const items = listed === null || listed === undefined ? [] : Array.isArray(listed) ? listed : [listed];
      const calls: PlannedCall[] = [];
      // Rendering stops at the bound: a list of a million items is rejected without a million renders.
      for (const [index, item] of items.slice(0, step.maxCalls).entries()) calls.push({ tool: call.tool, input: (await ctx.render(call.input, { item, index })) as Record<string, unknown> });
      if (items.length > step.maxCalls) overflow = items.length;
      plan = { calls };
      allowed = [call.tool];
      by = 'map';
    }
    const checked = await validatePlan(plan, { allowed, maxCalls: step.maxCalls, tool });
    const problems = overflow ? [`it plans ${overflow} calls, more than maxCalls (${step.maxCalls})`, ...checked.problems] : checked.problems;
    const calls = problems.length ? [] : checked.calls;
    if (problems.length) {
      ctx.decide('plan rejected', { by, problems, plan });
      throw new TwlError('TWL_WORKFLOW_PLAN_INVALID', `The plan of ${ctx.path} (workflow ${ctx.workflow}, by ${by}) was rejected, nothing ran: ${problems.join('; ').slice(0, 3000)}.`, { details: { problems } });
    }
    ctx.decide(`plan of ${calls.length} call${calls.length === 1 ? '' : 's'} accepted (by ${by})`, { by, calls: calls.map((c) => ({ tool: c.tool, input: c.input, ...(c.why ? { why: c.why } : {}) })) });
    const { default: PQueue } = await import('p-queue');
    const queue = new PQueue({ concurrency: step.concurrency });
    let done = 0;
    const settled = await Promise.allSettled(
      calls.map((c) =>
        queue.add(
          async () => {
            const output = await ctx.callTool(c.tool, c.input);
            ctx.progress(`${++done}/${calls.length} calls done`);
            return output;
          },
          { signal: ctx.signal },
        ),
      ),
    );
    if (ctx.signal.aborted) throw ctx.signal.reason;
    const waiting = settled.find((s) => s.status === 'rejected' && s.reason instanceof ApprovalPending);
    if (waiting) throw (waiting as PromiseRejectedResult).reason;
    const results: WorkerResult[] = settled.map((s, i) => {
      const { tool: name, input, why } = calls[i]!;
      const base = { tool: name, input, ...(why ? { why } : {}) };
      if (s.status === 'fulfilled') return { ...base, status: 'ok', output: s.value };
      const err = s.reason as unknown;
      return { ...base, status: 'failed', error: { code: isTwlError(err) ? err.code : 'TWL_TOOL_ERROR', message: messageOf(err) } };
    });
    const failed = results.filter((r) => r.status === 'failed').length;
    if (calls.length && failed === calls.length) {
      throw new TwlError('TWL_WORKFLOW_STEP_FAILED', `Every call of ${ctx.path}'s plan failed: ${results.map((r) => `${r.tool}: ${r.error!.message}`).join('; ').slice(0, 2000)}`, { details: { results } });
    }
    return { by, calls: results, ok: results.length - failed, failed };
  },
};
