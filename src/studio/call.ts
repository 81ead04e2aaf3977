import { distance } from 'fastest-levenshtein';
import { describeInputIssues, parseInput } from '../ops/invoke.js';
import type { Role } from '../ops/op.js';
import type { Runtime } from '../runtime/context.js';
import { TwlError } from '../runtime/errors.js';

/*
 * How a task reaches its tool: the tool catalog's one call path (src/tools, runtime.tools), so a
 * task may call twl's ops and the configured upstreams' tools alike, with the catalog's role
 * check, approval, timeout, cancellation, progress and audit row.
 */

/** Tasks run tools up to this role: whoever may create tasks (manager) cannot reach admin tools through one. */
export const TASK_ROLE: Role = 'manager';

export interface TaskTool {
  name: string;
  minRole: Role;
  needsApproval: boolean;
  readOnly: boolean;
  destructive: boolean;
}

/** A tool a task may call: known, with valid input. Fails with the fix when it is not. */
export async function resolveTool(runtime: Runtime, name: string, input: Record<string, unknown>): Promise<TaskTool> {
  const tool = await runtime.tools.get(name);
  if (!tool) {
    const names = (await runtime.tools.list()).map((t) => t.name);
    const near = names.map((k) => ({ k, d: distance(k, name) })).sort((a, b) => a.d - b.d)[0];
    const hint = near && near.d <= Math.max(2, Math.floor(name.length / 3)) ? ` Did you mean ${near.k}?` : '';
    throw new TwlError('TWL_TOOL_UNKNOWN', `There is no tool "${name.slice(0, 100)}".${hint}`, {
      actions: ['Run `twl tools list` to see the tools (twl\'s own and the upstreams\').'],
    });
  }
  // twl's own ops: their exact input schema now, so a bad input never reaches the queue. An
  // upstream's tool checks its input itself when the task runs.
  const op = tool.source === 'twl' ? (await runtime.ops()).get(tool.name) : undefined;
  if (op) parseInput(op, input);
  // A workflow: its declared input schema now, as for an op.
  if (tool.source === 'workflow') {
    const { z } = await import('zod');
    const checked = z.fromJSONSchema(tool.inputSchema as Parameters<typeof z.fromJSONSchema>[0]).safeParse(input);
    if (!checked.success) throw new TwlError('TWL_INPUT_INVALID', `Invalid input for ${tool.name}: ${describeInputIssues(checked.error)}`);
  }
  return { name: tool.name, minRole: tool.minRole, needsApproval: tool.needsApproval, readOnly: tool.annotations.readOnlyHint, destructive: tool.annotations.destructiveHint };
}

export interface ToolCallOptions {
  signal: AbortSignal;
  /** A line of progress from the tool, for the execution's output. */
  line: (text: string) => void;
  /** Recorded as the caller: `task:42`. */
  actor: string;
  /** The namespaces of the key that created the task (undefined: every one): the catalog refuses a tool outside them. */
  namespaces?: string[];
  /** The task was approved (or its tool needs no approval). */
  approved: boolean;
}

/** Calls a task's tool through the catalog; resolves with its structured output (or its content). */
export async function callTool(runtime: Runtime, name: string, input: Record<string, unknown>, options: ToolCallOptions): Promise<unknown> {
  const result = await runtime.tools.call(name, input, {
    face: runtime.face,
    actor: options.actor,
    role: TASK_ROLE,
    namespaces: options.namespaces,
    via: 'task',
    signal: options.signal,
    approved: options.approved,
    ask: () => Promise.resolve(options.approved),
    warn: (message) => options.line(`warning: ${message}`),
    progress: (p) => options.line(`${p.total ? `[${(p.done ?? 0) + 1}/${p.total}] ` : ''}${p.status && p.status !== 'running' ? `${p.status}: ` : ''}${p.message}`),
  });
  if (result.isError) {
    const text = result.content.map((c) => (typeof c.text === 'string' ? c.text : '')).join(' ').trim();
    throw new TwlError('TWL_TOOL_ERROR', `${name} answered with an error: ${text.slice(0, 2000) || '(no message)'}`);
  }
  return result.structured ?? result.content;
}
