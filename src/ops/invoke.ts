import type { z } from 'zod';
import type { Face, OpContext, Progress, Runtime } from '../runtime/context.js';
import type { Llm } from '../runtime/llm.js';
import { TwlError } from '../runtime/errors.js';
import { opMetrics } from '../runtime/op-metrics.js';
import { agentOf, type AnyOp, type OutputOf, type Role } from './op.js';

export interface InvokeOptions {
  signal?: AbortSignal;
  warn?: (message: string) => void;
  /** Asks the caller a yes/no question (approvals); undefined: nobody can answer here. */
  ask?: (question: string) => Promise<boolean | undefined>;
  /** Progress of long work, for progress bars and MCP progress notifications. */
  progress?: (update: Progress) => void;
  /** Who calls and through which face, when it is not the runtime's own (REST and MCP callers of `twl serve`). */
  caller?: { face: Face; actor: string; role?: Role; namespaces?: string[]; keyId?: number; grantExpiresAt?: string };
  /** An LLM for this call only (the MCP client's model through sampling), when the runtime has none. */
  llm?: Llm;
}

/** Zod issues as `key: problem` lines; unknown keys name the accepted ones. */
export const describeInputIssues = (error: z.ZodError, accepted?: string[]): string =>
  error.issues
    .map((i) => {
      const where = i.path.length ? i.path.join('.') : 'input';
      if (i.code === 'unrecognized_keys' && accepted && i.path.length === 0) return `${where}: unknown key${i.keys.length > 1 ? 's' : ''} ${i.keys.map((k) => `"${k}"`).join(', ')} (accepted: ${accepted.join(', ') || 'none'})`;
      return `${where}: ${i.message}`;
    })
    .join('; ');

export function parseInput<T extends AnyOp>(op: T, raw: unknown): z.output<T['input']> {
  const parsed = op.input.safeParse(raw ?? {});
  if (!parsed.success) throw new TwlError('TWL_INPUT_INVALID', `Invalid input for ${op.mcpName}: ${describeInputIssues(parsed.error, Object.keys(op.input.shape))}`);
  return parsed.data;
}

/** Validates the input, applies the policy (approval, timeout), runs the op and checks its output against the schema. */
export async function invoke<T extends AnyOp>(op: T, runtime: Runtime, raw: unknown, options: InvokeOptions = {}): Promise<OutputOf<T>> {
  const input = parseInput(op, raw);
  if (op.policy.needsApproval) {
    const approved = options.ask ? await options.ask(`${op.title}: proceed?`) : undefined;
    if (!approved) {
      throw new TwlError('TWL_APPROVAL_REQUIRED', `${op.title} needs approval and none was given.`);
    }
  }
  // A timer cleared when the op ends, not AbortSignal.timeout(): under load those would keep a
  // timer and a signal alive for the whole timeout after every call (memory grows for that long).
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(new DOMException(`${op.mcpName} did not finish within ${op.policy.timeoutMs} ms.`, 'TimeoutError')), op.policy.timeoutMs);
  timer.unref();
  const ctx: OpContext = {
    runtime,
    face: options.caller?.face ?? runtime.face,
    actor: options.caller?.actor ?? runtime.actor ?? `cli:${process.env.USER ?? 'user'}`,
    role: options.caller?.role,
    namespaces: options.caller?.namespaces,
    keyId: options.caller?.keyId,
    grantExpiresAt: options.caller?.grantExpiresAt,
    tools: runtime.tools,
    config: runtime.config,
    logger: runtime.logger.child({ op: op.id }),
    store: () => runtime.store(),
    cache: () => runtime.cache(),
    target: (name) => runtime.target(name),
    llm: () => runtime.llm() ?? options.llm,
    warn: options.warn ?? ((message) => runtime.logger.warn(message)),
    signal: options.signal ? AbortSignal.any([deadline.signal, options.signal]) : deadline.signal,
    ask: options.ask ?? (async () => undefined),
    progress: options.progress ?? (() => undefined),
  };
  const started = performance.now();
  const agent = agentOf(op.mcpName);
  opMetrics.called(agent, op.id);
  let ok = false;
  try {
    const result = await op.run(ctx, input);
    const checked = op.output.safeParse(result);
    if (!checked.success) throw new Error(`${op.mcpName} returned output that does not match its schema: ${describeInputIssues(checked.error)}`);
    ok = true;
    return checked.data;
  } finally {
    clearTimeout(timer);
    const seconds = (performance.now() - started) / 1000;
    runtime.recordCall(op.mcpName, seconds * 1000, ok);
    opMetrics.finished(agent, ok, seconds);
    ctx.logger.debug({ ms: Math.round(seconds * 1000) }, 'op done');
  }
}
