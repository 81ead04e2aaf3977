/**
 * Answers from a model that a workflow can use: structured output held to a JSON Schema with a
 * bounded retry that tells the model what was wrong, a classifier held to a set of labels, and the
 * check of an orchestrator's plan before any of its calls runs.
 *
 * Works around what local models do with Ollama's structured output (lastmile-ai/mcp-agent #171):
 * JSON in a code fence or after a sentence, a bare label instead of the object asked for, an empty
 * answer. The schema goes to Ollama as `format` (a grammar where the model honours it) and into the
 * system prompt (for a model or an MCP client's sampling that ignores `format`), and every answer is
 * validated here whatever the server promised.
 */
import type { Ajv, ValidateFunction } from 'ajv';
import type { Ajv2020 } from 'ajv/dist/2020.js';
import picomatch from 'picomatch';
import { TwlError, isTwlError } from '../runtime/errors.js';
import type { Llm, Message } from '../runtime/llm.js';
import type { CatalogTool } from '../tools/types.js';

export type JsonSchema = Record<string, unknown>;

/** The most attempts after the first that a step may ask for. */
export const MAX_RETRIES = 5;
/** How much of a model's answer is quoted back to it, and into an error. */
const QUOTE_CHARS = 200;

// ── JSON Schema validation (ajv, loaded on first use: most commands never need it) ─────────────

interface Validators {
  draft7: Ajv;
  draft2020: Ajv2020;
}
let validatorsP: Promise<Validators> | undefined;
const compiled = new Map<string, ValidateFunction>();
const MAX_COMPILED = 256;

async function validators(): Promise<Validators> {
  validatorsP ??= (async () => {
    const [draft7, draft2020, formatsModule, { ajvLinearRegExp }] = await Promise.all([import('ajv'), import('ajv/dist/2020.js'), import('ajv-formats'), import('../runtime/linear-regexp.js')]);
    const addFormats = ((formatsModule.default as unknown as { default?: unknown }).default ?? formatsModule.default) as (ajv: object) => void;
    // Schemas here include upstreams' (an orchestrator's plan is checked against them): their
    // `pattern`s run on RE2, in time linear in the input, never on the backtracking engine.
    const options = { strict: false, allErrors: true, logger: false as const, code: { regExp: ajvLinearRegExp } };
    const v = { draft7: new draft7.Ajv(options), draft2020: new draft2020.Ajv2020(options) };
    addFormats(v.draft7);
    addFormats(v.draft2020);
    return v;
  })();
  return validatorsP;
}

/** A compiled validator for a schema (draft-07, or 2019-09/2020-12 when its `$schema` says so), cached by its text. */
async function compile(schema: JsonSchema): Promise<ValidateFunction> {
  const key = JSON.stringify(schema);
  const hit = compiled.get(key);
  if (hit) return hit;
  const v = await validators();
  const modern = typeof schema.$schema === 'string' && /20(19-09|20-12)/.test(schema.$schema);
  const fn = (modern ? v.draft2020 : v.draft7).compile(schema);
  if (compiled.size >= MAX_COMPILED) compiled.delete(compiled.keys().next().value!);
  compiled.set(key, fn);
  return fn;
}

/** Why a schema cannot be used (for a workflow's validation), or undefined when it compiles. */
export async function schemaProblem(schema: unknown): Promise<string | undefined> {
  if (!schema || typeof schema !== 'object' || Array.isArray(schema)) return 'it is not a JSON Schema object';
  try {
    await compile(schema as JsonSchema);
    return undefined;
  } catch (err) {
    return `it is not a valid JSON Schema: ${(err as Error).message}`;
  }
}

/** What is wrong with a value against a schema, in a sentence; undefined when it is valid. */
export async function validationProblem(schema: JsonSchema, value: unknown): Promise<string | undefined> {
  const validate = await compile(schema);
  if (validate(value)) return undefined;
  const errors = (validate.errors ?? []).slice(0, 5).map((e) => {
    const where = e.instancePath || '(the root)';
    const extra = e.keyword === 'enum' ? ` (${(e.params as { allowedValues?: unknown[] }).allowedValues?.map((x) => JSON.stringify(x)).join(', ')})` : e.keyword === 'additionalProperties' ? ` (${JSON.stringify((e.params as { additionalProperty?: string }).additionalProperty)})` : '';
    return `${where} ${e.message ?? 'is invalid'}${extra}`;
  });
  return errors.join('; ') || 'it does not match the schema';
}

// ── Parsing a model's answer ────────────────────────────────────────────────────────────────

const quote = (text: string): string => JSON.stringify(text.length > QUOTE_CHARS ? `${text.slice(0, QUOTE_CHARS)}…` : text);

function tryParse(text: string): { ok: true; value: unknown } | { ok: false; error: string } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  }
}

/**
 * The JSON value in a model's answer: the whole answer, else the inside of a ```json fence, else
 * the span from the first `{` (or `[`) to the last `}` (or `]`): prose around JSON is common.
 */
export function parseJsonAnswer(text: string): { value: unknown } | { problem: string } {
  const trimmed = text.trim();
  if (!trimmed) return { problem: 'the answer was empty' };
  const whole = tryParse(trimmed);
  if (whole.ok) return { value: whole.value };
  const fenced = /```[a-zA-Z]*\s*([\s\S]*?)```/.exec(trimmed)?.[1]?.trim();
  if (fenced) {
    const r = tryParse(fenced);
    if (r.ok) return { value: r.value };
  }
  for (const [open, close] of [['{', '}'], ['[', ']']] as const) {
    const start = trimmed.indexOf(open);
    const end = trimmed.lastIndexOf(close);
    if (start >= 0 && end > start) {
      const r = tryParse(trimmed.slice(start, end + 1));
      if (r.ok) return { value: r.value };
    }
  }
  return { problem: `the answer is not JSON (${whole.error}): ${quote(trimmed)}` };
}

/** The schema as Ollama's `format` takes it: its grammar converter knows no `$schema`/`$id`. */
function ollamaFormat(schema: JsonSchema): JsonSchema {
  const { $schema: _s, $id: _i, ...rest } = schema;
  return rest;
}

// ── Asking with a bounded retry ─────────────────────────────────────────────────────────────

export interface AskOptions {
  prompt: string;
  system?: string;
  /** The JSON Schema the answer must match; none: free text. Sent to the model as its format. */
  format?: JsonSchema;
  /** What the answer is validated against, when stricter or looser than what the model is sent. Default: format. */
  validate?: JsonSchema;
  /** Attempts after the first when an answer does not parse or validate (0–MAX_RETRIES). Default 2. */
  retries?: number;
  /** Turns an answer that is not JSON into a value when the meaning is plain (a bare label). */
  coerce?: (text: string) => unknown;
  signal?: AbortSignal;
  /** Called after each attempt (progress, records). */
  onAttempt?: (attempt: { n: number; problem?: string }) => void;
}

export interface Answer {
  /** The parsed, valid JSON value (format given), or the answer's text. */
  value: unknown;
  /** The model's last answer, as it came. */
  text: string;
  attempts: number;
  /** What was wrong with each rejected answer, in order. */
  problems: string[];
  model: string;
  via: Llm['via'];
}

const clampRetries = (n: number | undefined): number => Math.max(0, Math.min(MAX_RETRIES, Math.floor(n ?? 2)));

/**
 * Asks the model; with a format, the answer must parse as JSON and validate, else the model is told
 * what was wrong and asked again, at most `retries` more times. An unreachable model is not retried
 * (TWL_LLM_UNAVAILABLE); a model that never gives a usable answer is TWL_LLM_OUTPUT_INVALID, naming
 * each problem.
 */
export async function askLlm(llm: Llm, options: AskOptions): Promise<Answer> {
  const retries = clampRetries(options.retries);
  const format = options.format;
  const check = options.validate ?? format;
  const system = [
    options.system,
    format ? `Answer with one JSON value only, no prose and no code fence. It must match this JSON Schema:\n${JSON.stringify(ollamaFormat(format))}` : undefined,
  ]
    .filter(Boolean)
    .join('\n\n');
  const messages: Message[] = [...(system ? [{ role: 'system', content: system }] : []), { role: 'user', content: options.prompt }];
  const problems: string[] = [];
  for (let n = 1; n <= retries + 1; n++) {
    options.signal?.throwIfAborted();
    const res = await llm.chat(messages, { format: format ? ollamaFormat(format) : undefined, signal: options.signal });
    const text = res.message?.content ?? '';
    let problem: string | undefined;
    let value: unknown = text.trim();
    if (format || check) {
      const parsed = parseJsonAnswer(text);
      const coerced = 'problem' in parsed && options.coerce ? options.coerce(text) : undefined;
      if ('value' in parsed) value = parsed.value;
      else if (coerced !== undefined) value = coerced;
      else problem = parsed.problem;
      if (!problem && check) {
        const invalid = await validationProblem(check, value);
        if (invalid) problem = `the JSON does not match the schema: ${invalid}`;
      }
    } else if (!text.trim()) {
      problem = 'the answer was empty';
    }
    options.onAttempt?.({ n, problem });
    if (!problem) return { value, text, attempts: n, problems, model: llm.model, via: llm.via };
    problems.push(problem);
    messages.push(
      { role: 'assistant', content: text.slice(0, 4000) },
      { role: 'user', content: `That answer cannot be used: ${problem}.\nAnswer again${format ? ' with only the JSON value that matches the schema, nothing else' : ''}.` },
    );
  }
  const attempts = retries + 1;
  throw new TwlError('TWL_LLM_OUTPUT_INVALID', `The model ${llm.model} (${llm.via}) gave no usable answer in ${attempts} attempt${attempts === 1 ? '' : 's'}: ${problems.map((p, i) => `${i + 1}) ${p}`).join('; ')}.`, {
    details: { attempts, problems },
  });
}

// ── Classifying into one of N labels ────────────────────────────────────────────────────────

export interface Classification {
  label: string;
  reason?: string;
  attempts: number;
}

/** The model picks one label (its answer held to them by schema); a bare label answer is accepted as such. */
export async function classifyLlm(
  llm: Llm,
  options: { prompt: string; labels: string[]; system?: string; retries?: number; signal?: AbortSignal; onAttempt?: AskOptions['onAttempt'] },
): Promise<Classification> {
  if (!options.labels.length) throw new TwlError('TWL_INPUT_INVALID', 'Nothing to classify into: no labels.');
  const format: JsonSchema = {
    type: 'object',
    properties: { label: { type: 'string', enum: options.labels }, reason: { type: 'string' } },
    required: ['label'],
  };
  const byLower = new Map(options.labels.map((l) => [l.toLowerCase(), l]));
  const answer = await askLlm(llm, {
    prompt: `${options.prompt}\n\nChoose exactly one of: ${options.labels.join(', ')}. Answer as {"label": "<one of them>", "reason": "<one sentence>"}.`,
    system: options.system,
    format,
    retries: options.retries,
    signal: options.signal,
    onAttempt: options.onAttempt,
    // A model that answers `billing` or "Billing" means the label.
    coerce: (text) => {
      const label = byLower.get(text.trim().replace(/^["'`]+|["'`.]+$/g, '').toLowerCase());
      return label ? { label } : undefined;
    },
  });
  const value = answer.value as { label: string; reason?: string };
  return { label: value.label, ...(typeof value.reason === 'string' ? { reason: value.reason } : {}), attempts: answer.attempts };
}

// ── An orchestrator's plan ──────────────────────────────────────────────────────────────────

export interface PlannedCall {
  tool: string;
  input: Record<string, unknown>;
  why?: string;
}

/** How many calls of one plan are checked one by one (the count is checked whatever it is). */
const MAX_CHECKED_CALLS = 100;

/** The shape a planner's answer must have (validated before the semantic checks of validatePlan). */
export const PLAN_SHAPE: JsonSchema = {
  type: 'object',
  properties: {
    calls: {
      type: 'array',
      items: { type: 'object', properties: { tool: { type: 'string' }, input: { type: 'object' }, why: { type: 'string' } }, required: ['tool', 'input'] },
    },
  },
  required: ['calls'],
};

/** What the planner model is sent: PLAN_SHAPE with the tool names it may use and the count bound. */
export function planFormat(tools: string[], maxCalls: number): JsonSchema {
  return {
    type: 'object',
    properties: {
      calls: {
        type: 'array',
        maxItems: maxCalls,
        items: {
          type: 'object',
          properties: { tool: { type: 'string', enum: tools.length ? tools : [''] }, input: { type: 'object' }, why: { type: 'string' } },
          required: ['tool', 'input'],
        },
      },
    },
    required: ['calls'],
  };
}

/** True when a tool name is matched by one of the globs (picomatch: `monitoring_*`, `{db,cache}_*`). */
export function allowedBy(globs: string[]): (name: string) => boolean {
  const matchers = globs.map((g) => picomatch(g, { nocase: false, dot: true }));
  return (name) => matchers.some((m) => m(name));
}

/**
 * Checks a plan before any of its calls runs: its shape, the number of calls, each tool inside the
 * allowed globs and known to the catalog, each input valid for the tool's input schema. Returns the
 * calls, or every problem found (each naming the call by its position and tool).
 */
export async function validatePlan(
  plan: unknown,
  options: { allowed: string[]; maxCalls: number; tool: (name: string) => Promise<CatalogTool | undefined> },
): Promise<{ calls: PlannedCall[]; problems: string[] }> {
  const raw = Array.isArray(plan) ? { calls: plan } : plan;
  const shape = await validationProblem(PLAN_SHAPE, raw);
  if (shape) return { calls: [], problems: [`the plan is not a list of {tool, input} calls: ${shape}`] };
  const calls = (raw as { calls: PlannedCall[] }).calls;
  const problems: string[] = [];
  if (calls.length > options.maxCalls) problems.push(`it plans ${calls.length} calls, more than maxCalls (${options.maxCalls})`);
  const allowed = allowedBy(options.allowed);
  // A plan far over its bound is refused for that alone; its calls are checked up to a fixed number.
  for (const [i, call] of calls.slice(0, MAX_CHECKED_CALLS).entries()) {
    const which = `call ${i + 1} (${JSON.stringify(call.tool.slice(0, 80))})`;
    if (!allowed(call.tool)) {
      problems.push(`${which}: the tool is outside the allowed tools (${options.allowed.join(', ')})`);
      continue;
    }
    const tool = await options.tool(call.tool);
    if (!tool) {
      problems.push(`${which}: no such tool in the catalog`);
      continue;
    }
    // A schema that cannot be compiled (a pattern RE2 cannot run, a broken keyword) fails the plan closed.
    const bad = await validationProblem(tool.inputSchema, call.input).catch((err: unknown) => ({ cannot: isTwlError(err) ? err.message : (err as Error).message }));
    if (typeof bad === 'object') problems.push(`${which}: the tool's input schema cannot be checked, so the call is refused: ${bad.cannot}`);
    else if (bad) problems.push(`${which}: the input does not match the tool's schema: ${bad}`);
  }
  return { calls: problems.length ? [] : calls, problems };
}
