import { z } from 'zod';
import { TwlError, isTwlError, messageOf } from '../../runtime/errors.js';
import { classifyLlm } from '../llm-output.js';
import type { StepKind } from '../types.js';
import { stepBase, stepList } from './base.js';
import { onAttempt, promptText, retriesField } from './llm.js';

const branchName = z.string().regex(/^[a-z][a-z0-9_-]{0,47}$/, 'expected a branch name: a lowercase letter, then lowercase letters, digits, _ and - (at most 48)');

const schema = stepBase
  .extend({
    kind: z.literal('route'),
    /** Tried in order: the first whose `when` holds picks its branch. */
    rules: z.array(z.strictObject({ when: z.string().min(1), to: branchName })).max(100).default([]),
    /** When no rule holds: the LLM picks one of the branch names (its answer held to them). */
    classify: z
      .strictObject({
        prompt: z.string().min(1).max(100_000),
        system: z.string().max(20_000).optional(),
        retries: retriesField,
        /** Only these branches are offered to the classifier (default: all). */
        among: z.array(branchName).min(1).optional(),
      })
      .optional(),
    /** When no rule holds and the classifier is absent, has no LLM, or fails. */
    default: branchName.optional(),
    branches: z.record(branchName, stepList).refine((b) => Object.keys(b).length > 0, 'expected at least one branch'),
  })
  .strict()
  .superRefine((step, ctx) => {
    const known = (name: string, path: (string | number)[]) => {
      if (!Object.hasOwn(step.branches, name)) ctx.addIssue({ code: 'custom', path, message: `no branch named ${JSON.stringify(name)} (branches: ${Object.keys(step.branches).join(', ')})` });
    };
    step.rules.forEach((r, i) => known(r.to, ['rules', i, 'to']));
    step.classify?.among?.forEach((name, i) => known(name, ['classify', 'among', i]));
    if (step.default !== undefined) known(step.default, ['default']);
    if (!step.rules.length && !step.classify && step.default === undefined) ctx.addIssue({ code: 'custom', path: ['rules'], message: 'a route needs rules, a classify or a default' });
  });
export type RouteStep = z.output<typeof schema>;

type Taken = { route: string; by: 'rule' | 'llm' | 'default'; rule?: number; reason?: string; attempts?: number; llmProblem?: string };

/**
 * Routing: the rules first (expressions over the scope, in order), then the LLM classifier held to the
 * branch names, then the default. The decision records the branch and what chose it; the branch's
 * steps run, and the output is `{route, by, output}`.
 */
export const routeStep: StepKind<RouteStep> = {
  kind: 'route',
  schema,
  children: (step) => Object.values(step.branches),
  expressions: (step) => step.rules.map((r, i) => ({ field: `rules[${i}].when`, expr: r.when })),
  async run(step, ctx) {
    let taken: Taken | undefined;
    for (const [i, rule] of step.rules.entries()) {
      if (await ctx.evaluate(rule.when)) {
        taken = { route: rule.to, by: 'rule', rule: i, reason: rule.when };
        break;
      }
    }
    let llmProblem: string | undefined;
    if (!taken && step.classify) {
      const llm = ctx.llm();
      if (!llm) llmProblem = 'no LLM is configured';
      else {
        const labels = step.classify.among ?? Object.keys(step.branches);
        ctx.progress(`asking ${llm.model} to route among ${labels.join(', ')}`);
        try {
          const prompt = promptText(await ctx.render(step.classify.prompt));
          const system = step.classify.system === undefined ? undefined : promptText(await ctx.render(step.classify.system));
          const c = await classifyLlm(llm, { prompt, labels, system, retries: step.classify.retries, signal: ctx.signal, onAttempt: onAttempt(ctx, step.classify.retries) });
          taken = { route: c.label, by: 'llm', reason: c.reason, attempts: c.attempts };
        } catch (err) {
          if (ctx.signal.aborted || step.default === undefined || !isTwlError(err)) throw err;
          llmProblem = messageOf(err);
        }
      }
    }
    if (!taken && step.default !== undefined) taken = { route: step.default, by: 'default', ...(llmProblem ? { llmProblem } : {}) };
    if (!taken) {
      throw new TwlError('TWL_WORKFLOW_STEP_FAILED', `No route at ${ctx.path} of workflow ${ctx.workflow}: no rule held${step.classify ? ` and the classifier could not choose (${llmProblem})` : ''}, and there is no default.`, {
        actions: ['Add a `default:` branch to the route, or a rule that covers this input.'],
      });
    }
    ctx.decide(`route ${taken.route} (by ${taken.by})`, taken);
    const output = await ctx.runSteps(step.branches[taken.route]!);
    return { route: taken.route, by: taken.by, ...(taken.reason ? { reason: taken.reason } : {}), output };
  },
};
