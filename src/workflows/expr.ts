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

/**
 * A plain path (`input.service`, `steps.health.status`): the most common expression in templates,
 * read directly (JSONata's evaluator costs ~0.1 ms a call). Words JSONata reads as operators or
 * literals are not plain paths; anything that meets an array on its way is left to JSONata (its
 * sequence semantics).
 */
const PLAIN = /^\s*[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*\s*$/;
const OPERATOR_WORDS = new Set(['and', 'or', 'in', 'true', 'false', 'null']);
const paths = new Map<string, string[] | null>();
function plainPath(expr: string): string[] | null {
  let p = paths.get(expr);
  if (p === undefined) {
    const parts = PLAIN.test(expr) ? expr.trim().split('.') : null;
    p = parts && !parts.some((w) => OPERATOR_WORDS.has(w)) ? parts : null;
    if (paths.size >= MAX_CACHED) paths.clear();
    paths.set(expr, p);
  }
  return p;
}
const NOT_PLAIN = Symbol('not plain');
function readPath(parts: string[], scope: Record<string, unknown>): unknown {
  let value: unknown = scope;
  for (const part of parts) {
    if (value === null || value === undefined) return null;
    if (typeof value !== 'object' || Array.isArray(value)) return NOT_PLAIN;
    value = Object.hasOwn(value, part) ? (value as Record<string, unknown>)[part] : undefined;
  }
  if (Array.isArray(value) || typeof value === 'function') return NOT_PLAIN;
  return value === undefined ? null : value;
}

/** The value of an expression over a scope; JSONata's undefined (no match) is null. */
export async function evaluate(expr: string, scope: Record<string, unknown>): Promise<unknown> {
  const parts = plainPath(expr);
  if (parts) {
    const value = readPath(parts, scope);
    if (value !== NOT_PLAIN) return value;
  }
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
