import { distance } from 'fastest-levenshtein';
import { invoke, parseInput } from '../ops/invoke.js';
import type { AnyOp, Role } from '../ops/op.js';
import type { Runtime } from '../runtime/context.js';
import { TwlError } from '../runtime/errors.js';

/*
 * How a task reaches its tool: the one place to switch to the tool catalog's call path
 * (ToolCatalog.call, issue #12) once it has landed. Until then, twl's own ops by MCP name,
 * through invoke (validation, timeout, metrics), the path Maestro's plans use.
 */

export interface TaskTool {
  name: string;
  minRole: Role;
  needsApproval: boolean;
  readOnly: boolean;
  destructive: boolean;
}

/** A tool a task may call: known, with valid input. Fails with the fix when it is not. */
export async function resolveTool(runtime: Runtime, name: string, input: Record<string, unknown>): Promise<TaskTool> {
  const op = await findOp(runtime, name);
  parseInput(op, input);
  return { name: op.mcpName, minRole: op.policy.minRole, needsApproval: op.policy.needsApproval, readOnly: op.annotations.readOnlyHint, destructive: op.annotations.destructiveHint };
}

async function findOp(runtime: Runtime, name: string): Promise<AnyOp> {
  const ops = await runtime.ops();
  const op = ops.get(name);
  if (op) return op;
  const near = [...ops.keys()].map((k) => ({ k, d: distance(k, name) })).sort((a, b) => a.d - b.d)[0];
  const hint = near && near.d <= Math.max(2, Math.floor(name.length / 3)) ? ` Did you mean ${near.k}?` : '';
  throw new TwlError('TWL_TOOL_UNKNOWN', `There is no tool "${name.slice(0, 100)}".${hint}`, {
    actions: ['Name a tool by its MCP name, as `twl serve` lists it (e.g. cache_cache_stats, db_health_check).'],
  });
}

export interface ToolCallOptions {
  signal: AbortSignal;
  /** A line of progress from the tool, for the execution's output. */
  line: (text: string) => void;
  /** Recorded as the caller: `task:42`. */
  actor: string;
  /** The task was approved (or its tool needs no approval). */
  approved: boolean;
}

/** Calls a task's tool; resolves with its structured output. */
export async function callTool(runtime: Runtime, name: string, input: Record<string, unknown>, options: ToolCallOptions): Promise<unknown> {
  const op = await findOp(runtime, name);
  return invoke(op, runtime, input, {
    signal: options.signal,
    caller: { face: runtime.face, actor: options.actor },
    ask: () => Promise.resolve(options.approved),
    warn: (message) => options.line(`warning: ${message}`),
    progress: (p) => options.line(`${p.total ? `[${(p.done ?? 0) + 1}/${p.total}] ` : ''}${p.status && p.status !== 'running' ? `${p.status}: ` : ''}${p.message}`),
  });
}
