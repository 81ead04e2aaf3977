import type { OpAnnotations } from '../ops/op.js';

/**
 * What an upstream declares is input from another program: names, schemas and texts are checked
 * before they reach twl's list, its REST paths, a terminal or an MCP client. A tool that fails a
 * check is left out of the catalog with a warning naming the upstream, the tool and the reason.
 */

/** An upstream tool's own name: MCP's tool-name alphabet (ASCII letters, digits, `_`, `-`, `.`), no `..`. */
const TOOL_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

/** Why a tool name is refused, or undefined when it is fine. */
export function toolNameProblem(name: unknown): string | undefined {
  if (typeof name !== 'string') return 'its name is not a string';
  if (!TOOL_NAME.test(name)) return `its name ${JSON.stringify(name.slice(0, 80))} is not 1–64 ASCII letters, digits, "_", "-" or "."`;
  if (name.includes('..') || /^[.-]/.test(name)) return `its name ${JSON.stringify(name)} starts with "." or "-" or holds ".."`;
  return undefined;
}

/** Largest input or output schema accepted, serialized. */
export const MAX_SCHEMA_BYTES = 64 * 1024;
/** Deepest nesting of a schema. */
export const MAX_SCHEMA_DEPTH = 32;

/**
 * A schema fit to list and to hand to clients: a JSON object (a copy, so nothing the upstream
 * holds can change it later), an object schema at its root, at most MAX_SCHEMA_BYTES and
 * MAX_SCHEMA_DEPTH deep, and only local `$ref`s (`#/…`; a remote one would make a client fetch it).
 */
export function cleanSchema(schema: unknown, what: 'input' | 'output'): { schema?: Record<string, unknown>; problem?: string } {
  if (!schema || typeof schema !== 'object' || Array.isArray(schema)) return { problem: `its ${what} schema is not a JSON object` };
  let text: string;
  try {
    text = JSON.stringify(schema);
  } catch {
    return { problem: `its ${what} schema cannot be serialized as JSON` };
  }
  if (Buffer.byteLength(text) > MAX_SCHEMA_BYTES) return { problem: `its ${what} schema is larger than ${MAX_SCHEMA_BYTES} bytes` };
  let problem: string | undefined;
  // A JSON copy drops what JSON cannot hold; `__proto__` keys are dropped, never assigned.
  const copy = JSON.parse(text, (key, value: unknown) => {
    if (key === '__proto__') return undefined;
    if (key === '$ref' && (typeof value !== 'string' || !value.startsWith('#'))) problem ??= `its ${what} schema has a $ref that is not local (${JSON.stringify(String(value).slice(0, 80))})`;
    return value;
  }) as Record<string, unknown>;
  if (problem) return { problem };
  if (depthOf(copy) > MAX_SCHEMA_DEPTH) return { problem: `its ${what} schema nests deeper than ${MAX_SCHEMA_DEPTH} levels` };
  if (what === 'input') {
    if (copy.type !== undefined && copy.type !== 'object') return { problem: `its input schema's type is ${JSON.stringify(copy.type)}, not "object"` };
    return { schema: { ...copy, type: 'object' } };
  }
  return { schema: copy };
}

function depthOf(value: unknown, depth = 0): number {
  if (depth > MAX_SCHEMA_DEPTH) return depth;
  if (!value || typeof value !== 'object') return depth;
  let deepest = depth + 1;
  for (const child of Object.values(value)) deepest = Math.max(deepest, depthOf(child, depth + 1));
  return deepest;
}

// C0/C1 controls (terminal escapes), bidirectional overrides and isolates (text that reads otherwise
// than it runs), zero-width characters and the BOM.
// eslint-disable-next-line no-control-regex
const UNSAFE_TEXT = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]/g;

/** A title or description fit for a terminal and a client: unsafe characters dropped, length capped. */
export const cleanText = (text: unknown, max: number): string => (typeof text === 'string' ? text.replace(UNSAFE_TEXT, '').slice(0, max) : '');

/**
 * MCP's annotation defaults for what an upstream leaves out (readOnly false, destructive true,
 * idempotent false, open-world true): an upstream that says nothing is treated as one that writes.
 * Only a real `true`/`false` counts; `"yes"` is not a boolean.
 */
export function annotationsOf(declared: unknown): OpAnnotations {
  const a = (declared && typeof declared === 'object' ? declared : {}) as Record<string, unknown>;
  const flag = (key: string, fallback: boolean) => (typeof a[key] === 'boolean' ? (a[key] as boolean) : fallback);
  const readOnlyHint = flag('readOnlyHint', false);
  return { readOnlyHint, destructiveHint: readOnlyHint ? false : flag('destructiveHint', true), idempotentHint: flag('idempotentHint', readOnlyHint), openWorldHint: flag('openWorldHint', true) };
}
