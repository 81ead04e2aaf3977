import { z } from 'zod';
import { TwlError, isTwlError, messageOf } from '../../runtime/errors.js';
import type { Llm } from '../../runtime/llm.js';
import { MAX_RETRIES, askLlm, schemaProblem, type JsonSchema } from '../llm-output.js';
import type { StepContext, StepKind } from '../types.js';
import { stepBase } from './base.js';

/** How much of a rendered prompt the step's decision keeps (the run record shows what the model was asked). */
const PROMPT_RECORDED = 2000;

/** How many attempts after the first a step may ask for when an answer does not parse or validate. */
export const retriesField = z.number().int().min(0).max(MAX_RETRIES).default(2);

const schema = stepBase
  .extend({
    kind: z.literal('llm'),
    /** The question (a template over the scope). */
    prompt: z.string().min(1).max(100_000),
    system: z.string().max(20_000).optional(),
    /** A JSON Schema the answer must match: the output is then the parsed value, not text. */
    format: z.record(z.string(), z.unknown()).optional(),
    retries: retriesField,
    /** A template used when no LLM is configured or reachable (recorded as such); without it the step fails. */
    fallback: z.unknown().optional(),
  })
  .strict();
export type LlmStep = z.output<typeof schema>;

/** The model of the run, or TWL_LLM_UNAVAILABLE naming the step and the ways to give it one. */
export function requireLlm(ctx: StepContext, what: string): Llm {
  const llm = ctx.llm();
  if (llm) return llm;
  throw new TwlError('TWL_LLM_UNAVAILABLE', `Step ${ctx.path} of workflow ${ctx.workflow} needs an LLM (${what}), and none is configured.`, {
    actions: [
      'Set llm.host (or TWL_LLM_HOST, e.g. http://127.0.0.1:11434) and llm.model, or run the workflow from an MCP client that offers sampling.',
      'Or declare what the step does without one (an llm step\'s `fallback`, a route\'s `default`).',
    ],
  });
}

/** A rendered prompt as text: values that are not text are shown as JSON. */
export const promptText = (value: unknown): string => (typeof value === 'string' ? value : JSON.stringify(value, null, 2));

/** Tells the run's watchers about an answer that was refused and asked again. */
export const onAttempt = (ctx: StepContext, retries: number) => (a: { n: number; problem?: string }) => {
  if (a.problem && a.n <= retries) ctx.progress(`answer ${a.n} refused (${a.problem.slice(0, 200)}); asking again`);
};

/**
 * Asks the model of the run (Ollama, or the MCP client's through sampling). With `format`, the answer
 * is JSON held to the schema, retried at most `retries` times with the problem told to the model.
 * Without a model, or with one that does not answer, the declared `fallback` template is the output
 * (the decision says so); without a fallback the step fails. A model that answers but never usably
 * fails the step (TWL_LLM_OUTPUT_INVALID): a fallback never hides a wrong answer.
 */
export const llmStep: StepKind<LlmStep> = {
  kind: 'llm',
  schema,
  async run(step, ctx) {
    if (step.format) {
      const problem = await schemaProblem(step.format);
      if (problem) throw new TwlError('TWL_WORKFLOW_INVALID', `The format of step ${ctx.path} (workflow ${ctx.workflow}) is unusable: ${problem}.`);
    }
    const llm = ctx.llm();
    const fallback = async (reason: string) => {
      ctx.decide('fallback', { reason });
      return ctx.render(step.fallback);
    };
    if (!llm) {
      if (step.fallback !== undefined) return fallback('no LLM is configured');
      requireLlm(ctx, 'an llm step');
    }
    const prompt = promptText(await ctx.render(step.prompt));
    const system = step.system === undefined ? undefined : promptText(await ctx.render(step.system));
    ctx.progress(`asking ${llm!.model}`);
    try {
      const answer = await askLlm(llm!, { prompt, system, format: step.format as JsonSchema | undefined, retries: step.retries, signal: ctx.signal, onAttempt: onAttempt(ctx, step.retries) });
      ctx.decide('answered', { model: answer.model, via: answer.via, attempts: answer.attempts, ...(answer.problems.length ? { refused: answer.problems } : {}), prompt: prompt.slice(0, PROMPT_RECORDED) });
      return answer.value;
    } catch (err) {
      if (step.fallback !== undefined && isTwlError(err) && err.code === 'TWL_LLM_UNAVAILABLE' && !ctx.signal.aborted) return fallback(messageOf(err));
      if (isTwlError(err) && err.code === 'TWL_LLM_OUTPUT_INVALID') ctx.decide('refused', err.details);
      throw err;
    }
  },
};
