import { z } from 'zod';
import { durationHint, parseDuration } from './duration.js';

/** A duration in the configuration (`500ms`, `30s`, `2m`, or a number of seconds), parsed to milliseconds. */
export const durationSetting = (fallback: string) =>
  z
    .union([z.string(), z.number()])
    .default(fallback)
    .transform((value, ctx) => {
      const ms = parseDuration(value);
      if (ms === undefined) {
        ctx.addIssue({ code: 'custom', message: `expected ${durationHint}, got ${JSON.stringify(value)}` });
        return z.NEVER;
      }
      return ms;
    });
