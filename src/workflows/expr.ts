import jsonata from 'jsonata';
import { TwlError } from '../runtime/errors.js';

/**
 * Expressions (JSONata, https://jsonata.org) and templates over a run's scope. Each expression is
 * compiled once and kept; evaluation is bounded (time, recursion depth, sequence length), so a
 * hostile or careless expression ends with an error instead of holding the process.
 */
const limits = { timeout: 5000, stack: 500, sequence: 1_000_000 };
const compiled = new Map<string, jsonata.Expression>();
const MAX_CACHED = 10_000;

/** The compiled expression, or the error saying where it does not parse. */
export function compile(expr: string): jsonata.Expression {
  let e = compiled.get(expr);
  if (e) return e;
  try {
    e = jsonata(expr, limits);
  } catch (err) {
    throw new TwlError('TWL_WORKFLOW_INVALID', `the expression ${JSON.stringify(expr.slice(0, 200))} does not parse: ${syntaxProblem(err)}`);
  }
  if (compiled.size >= MAX_CACHED) compiled.clear();
  compiled.set(expr, e);
  return e;
}

const syntaxProblem = (err: unknown): string => {
  const e = err as { message?: string; position?: number; token?: string };
  return `${e.message ?? String(err)}${typeof e.position === 'number' ? ` (at character ${e.position})` : ''}`;
};

/** Why an expression does not compile, or undefined. */
export function expressionProblem(expr: string): string | undefined {
  try {
    compile(expr);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

/** The value of an expression over a scope; JSONata's undefined (no match) is null. */
export async function evaluate(expr: string, scope: Record<string, unknown>): Promise<unknown> {
  const e = compile(expr);
  try {
    const value: unknown = await e.evaluate(scope);
    return value === undefined ? null : normalise(value);
  } catch (err) {
    throw new TwlError('TWL_WORKFLOW_STEP_FAILED', `the expression ${JSON.stringify(expr.slice(0, 200))} failed: ${syntaxProblem(err)}`);
  }
}

/** JSONata marks its result sequences (a `sequence` property on arrays): plain JSON values for records and outputs. */
function normalise(value: unknown): unknown {
  if (Array.isArray(value) && 'sequence' in value) return [...(value as unknown[])];
  return value;
}

const WHOLE = /^\s*\{\{([\s\S]+?)\}\}\s*$/;
const PART = /\{\{([\s\S]+?)\}\}/g;

/** The expressions inside a template string ("{{ expr }}" parts). */
export const templateParts = (template: string): string[] => [...template.matchAll(PART)].map((m) => m[1]!.trim());

/**
 * A template's value, deep over objects and arrays: a string that is exactly "{{ expr }}" is the
 * expression's value (any type); other strings have each {{ expr }} replaced by its text (JSON for
 * objects, empty for null).
 */
export async function render(template: unknown, scope: Record<string, unknown>): Promise<unknown> {
  if (typeof template === 'string') {
    if (!template.includes('{{')) return template;
    const whole = WHOLE.exec(template);
    if (whole && !whole[1]!.includes('}}')) return evaluate(whole[1]!.trim(), scope);
    const parts = templateParts(template);
    const values = await Promise.all(parts.map((p) => evaluate(p, scope)));
    let i = 0;
    return template.replace(PART, () => textOf(values[i++]));
  }
  if (Array.isArray(template)) return Promise.all(template.map((t) => render(t, scope)));
  if (template && typeof template === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(template)) out[k] = await render(v, scope);
    return out;
  }
  return template;
}

const textOf = (value: unknown): string => (value === null || value === undefined ? '' : typeof value === 'string' ? value : JSON.stringify(value));
