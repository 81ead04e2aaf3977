import type { z } from 'zod';
import type { OpContext } from '../runtime/context.js';

export const roles = ['viewer', 'operator', 'manager', 'admin'] as const;
export type Role = (typeof roles)[number];

/** The four MCP tool annotations, all stated explicitly for every op. */
export interface OpAnnotations {
  readOnlyHint: boolean;
  destructiveHint: boolean;
  idempotentHint: boolean;
  openWorldHint: boolean;
}

export interface OpPolicy {
  /** The least role an API key needs to call it (enforced by the HTTP face). */
  minRole: Role;
  /** Asks before running: on a terminal, `--yes` in scripts, refused (with the reason) where nobody can answer. */
  needsApproval: boolean;
  /** The op's signal aborts after this long. */
  timeoutMs: number;
}

export type ObjectSchema = z.ZodObject<z.ZodRawShape>;

/**
 * An operation, defined once: the CLI command, the MCP tool and (later) the REST route are
 * all adapters over it. `run` never writes to stdout; it returns the typed output.
 */
export interface Op<I extends ObjectSchema = ObjectSchema, O extends ObjectSchema = ObjectSchema> {
  /** `topic.verb`, matching the command id `topic:verb`. */
  id: string;
  /** The MCP tool name: a contract with AI clients, never renamed. */
  mcpName: string;
  title: string;
  description: string;
  input: I;
  output: O;
  annotations: OpAnnotations;
  policy: OpPolicy;
  run(ctx: OpContext, input: z.output<I>): Promise<z.output<O>>;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyOp = Op<any, any>;
export type InputOf<T extends AnyOp> = z.input<T['input']>;
export type OutputOf<T extends AnyOp> = z.output<T['output']>;

/**
 * Defines an op. Its input is strict on every face: an unknown key (a typo, or an option the op
 * does not have, such as `approve` on resolve) is refused, never silently dropped.
 */
export const defineOp = <I extends ObjectSchema, O extends ObjectSchema>(op: Op<I, O>): Op<I, O> => ({ ...op, input: op.input.strict() as unknown as I });

export const readOnly: OpAnnotations = { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false };

/** Tools named after another server's contract, not `<agent>_<tool>`: Context7's, served by the docs agent. */
const foreignNames: Record<string, string> = { 'resolve-library-id': 'docs', 'query-docs': 'docs' };

/**
 * The seed's agent names come before the first underscore of a tool name (`monitoring_health_check` →
 * monitoring); a name without one is either a known foreign contract (Context7's `query-docs`) or its own agent.
 */
export const agentOf = (tool: string): string => foreignNames[tool] ?? (tool.includes('_') ? tool.slice(0, tool.indexOf('_')) : tool);
