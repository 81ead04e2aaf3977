import { z } from 'zod';
import { parseDuration, durationHint } from '../../runtime/duration.js';
import { stepIdPattern } from '../types.js';

/** The fields every step has (StepBase); a kind's schema is `stepBase.extend({ kind: z.literal('…'), … }).strict()`. */
export const stepBase = z.object({
  id: z.string().regex(stepIdPattern, 'expected a step id: a lowercase letter, then lowercase letters, digits and _ (at most 48)'),
  kind: z.string(),
  title: z.string().max(200).optional(),
  when: z.string().min(1).optional(),
  timeout: z
    .string()
    .refine((v) => parseDuration(v) !== undefined && parseDuration(v)! > 0, `expected a duration: ${durationHint}`)
    .optional(),
  approval: z.enum(['ask', 'never']).optional(),
});

/** A step inside another (a chain's, a branch): kept raw here, validated by its own kind (src/workflows/validate.ts). */
export const rawStep = z.looseObject({ id: z.string(), kind: z.string() });
/** A non-empty list of nested steps. */
export const stepList = z.array(rawStep).min(1, 'expected at least one step');

/** An object of inputs whose strings may be templates. */
export const templateObject = z.record(z.string(), z.unknown());
