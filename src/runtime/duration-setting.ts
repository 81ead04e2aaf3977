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

/**
 * A duration that may be switched off (`off`, `0` or `false`: 0), parsed to milliseconds.
 * `what` names the duration in the error (`an idle time`); `min`, when given, is the shortest
 * one accepted besides off, with its spelling (`[60_000, '1m']`).
 */
export const durationOrOffSetting = (fallback: string, what: string, min?: [ms: number, spelled: string]) =>
  z
    .union([z.string(), z.number(), z.literal(false)])
    .default(fallback)
    .transform((value, ctx) => {
      if (value === false || value === 'off' || value === 0) return 0;
      const ms = parseDuration(value);
      if (ms === undefined || (min && ms !== 0 && ms < min[0])) {
        ctx.addIssue({ code: 'custom', message: `expected off or ${what} (${durationHint}${min ? `; ${min[1]} at least` : ''}), got ${JSON.stringify(value)}` });
        return z.NEVER;
      }
      return ms;
    });
