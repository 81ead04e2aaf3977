const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * Parses a duration: a number of the default unit (`60`), or a number with a unit
 * (`500ms`, `5s`, `2m`, `1h`, `7d`). Returns milliseconds, or undefined when it is not one.
 */
export function parseDuration(input: string | number, defaultUnit: keyof typeof units = 's'): number | undefined {
  if (typeof input === 'number') return Number.isFinite(input) && input >= 0 ? input * units[defaultUnit]! : undefined;
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/i.exec(input);
  if (!match) return undefined;
  const unit = (match[2]?.toLowerCase() ?? defaultUnit) as keyof typeof units;
  return Math.round(Number(match[1]) * units[unit]!);
}

export const durationHint = 'a number of seconds or a duration such as 500ms, 5s, 2m, 1h';
