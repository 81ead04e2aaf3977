import { z } from 'zod';
import { TwlError } from '../../runtime/errors.js';
import { askLlm, type JsonSchema } from '../llm-output.js';
import type { StepBase, StepKind } from '../types.js';
import { rawStep, stepBase } from './base.js';
import { onAttempt, promptText, requireLlm, retriesField } from './llm.js';

const llmEvaluator = z.strictObject({
  llm: z.strictObject({
    /** What a good candidate is (a template); the model scores 0–1 against it and says what to improve. */
    criteria: z.string().min(1).max(20_000),
    system: z.string().max(20_000).optional(),
    retries: retriesField,
  }),
});

const schema = stepBase
  .extend({
    kind: z.literal('evaluate'),
    /** Makes a candidate; sees `round` (1, 2…) and `previous` ({output, score, feedback} of the round before). */
    generate: rawStep,
    /** Scores it: a step (sees `candidate`, `round`), or the LLM against criteria. */
    evaluate: z.union([llmEvaluator, rawStep]),
    /** The score from `evaluation` (the evaluator's output), `candidate` and `round`. Default: evaluation.score. */
    score: z.string().min(1).default('evaluation.score'),
    /** The loop ends when a candidate scores at least this. */
    minScore: z.number().default(0.8),
    /** …or after this many rounds (the best candidate is the output). */
    maxRounds: z.number().int().min(1).max(20).default(3),
  })
  .strict();
export type EvaluateStep = z.output<typeof schema>;

/** What the LLM evaluator answers. */
export const SCORE_FORMAT: JsonSchema = {
  type: 'object',
  properties: { score: { type: 'number', minimum: 0, maximum: 1 }, feedback: { type: 'string' } },
  required: ['score', 'feedback'],
};

interface Round {
  round: number;
  score: number;
  feedback?: unknown;
}

const isLlmEvaluator = (e: EvaluateStep['evaluate']): e is z.output<typeof llmEvaluator> => 'llm' in e && !('kind' in e);

/**
 * Evaluator-optimizer: generate a candidate, score it (a step, or the LLM against criteria with a
 * 0–1 score schema), and generate again with the feedback (`previous`) until a candidate reaches
 * `minScore` or `maxRounds` rounds ran. The decision records which one ended it and every round's
 * score; the output is the best candidate with its score.
 */
export const evaluateStep: StepKind<EvaluateStep> = {
  kind: 'evaluate',
  schema,
  children: (step) => [[step.generate as StepBase], ...(isLlmEvaluator(step.evaluate) ? [] : [[step.evaluate as StepBase]])],
  expressions: (step) => [{ field: 'score', expr: step.score, after: true }],
  async run(step, ctx) {
    const rounds: Round[] = [];
    let best: { output: unknown; score: number; round: number } | undefined;
    let previous: { output: unknown; score: number; feedback?: unknown } | null = null;
    let endedBy: 'score' | 'maxRounds' = 'maxRounds';
    for (let round = 1; round <= step.maxRounds; round++) {
      ctx.signal.throwIfAborted();
      const candidate = await ctx.runSteps([step.generate as StepBase], { round, previous });
      let evaluation: unknown;
      if (isLlmEvaluator(step.evaluate)) {
        const e = step.evaluate.llm;
        const llm = requireLlm(ctx, 'an evaluate step with an llm evaluator');
        const criteria = promptText(await ctx.render(e.criteria, { round, candidate }));
        const system = e.system === undefined ? undefined : promptText(await ctx.render(e.system, { round, candidate }));
        const prompt = `Score this candidate from 0 (useless) to 1 (meets every criterion), and say precisely what to improve.\n\nCriteria:\n${criteria}\n\nCandidate:\n${promptText(candidate)}`;
        evaluation = (await askLlm(llm, { prompt, system, format: SCORE_FORMAT, retries: e.retries, signal: ctx.signal, onAttempt: onAttempt(ctx, e.retries) })).value;
      } else {
        evaluation = await ctx.runSteps([step.evaluate as StepBase], { round, candidate, previous });
      }
      const raw = await ctx.evaluate(step.score, { evaluation, candidate, round, previous });
      const score = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : Number.NaN;
      if (!Number.isFinite(score)) {
        throw new TwlError('TWL_WORKFLOW_STEP_FAILED', `The score of ${ctx.path} (workflow ${ctx.workflow}) in round ${round} is ${JSON.stringify(raw)?.slice(0, 100)}, not a number: check its score expression (${step.score}) against the evaluator's output.`);
      }
      const feedback = evaluation && typeof evaluation === 'object' && 'feedback' in evaluation ? (evaluation as { feedback: unknown }).feedback : undefined;
      rounds.push({ round, score, ...(feedback !== undefined ? { feedback } : {}) });
      if (!best || score > best.score) best = { output: candidate, score, round };
      ctx.progress(`round ${round}: score ${score} (at least ${step.minScore} wanted)`);
      if (score >= step.minScore) {
        endedBy = 'score';
        break;
      }
      previous = { output: candidate, score, ...(feedback !== undefined ? { feedback } : {}) };
    }
    ctx.decide(endedBy === 'score' ? `ended on its score in round ${rounds.length}` : `ended on its round limit (${step.maxRounds}) below ${step.minScore}`, { endedBy, minScore: step.minScore, rounds });
    return { output: best!.output, score: best!.score, bestRound: best!.round, rounds: rounds.length, endedBy, history: rounds };
  },
};
