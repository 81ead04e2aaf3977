/**
 * The upstream interface other parts of twl code against (the tool catalog, `twl bridge`).
 * Additive changes only: catalog and bridge merge this branch and build on these names.
 */
import type { CallToolResult } from '@modelcontextprotocol/client';
import type { Cache } from '../runtime/cache.js';
import type { Logger } from '../runtime/logger.js';
import type { UpstreamConfig } from './config.js';
import type { SecretBox } from './secrets.js';

export type { CallToolResult, UpstreamConfig };

export type UpstreamState = 'starting' | 'ready' | 'restarting' | 'crash-loop' | 'stopped';

/** One tool as the upstream declares it (its own name, before `<upstream>_` prefixing). */
export interface UpstreamTool {
  name: string;
  title?: string;
  description?: string;
  /** JSON Schema. */
  inputSchema: Record<string, unknown>;
  outputSchema?: Record<string, unknown>;
  annotations?: { readOnlyHint?: boolean; destructiveHint?: boolean; idempotentHint?: boolean; openWorldHint?: boolean; title?: string };
}

/**
 * A request the upstream sends back to its client while a call runs (sampling/createMessage,
 * elicitation/create, roots/list). Forwarded only in `isolated` sharing, where one child
 * belongs to one downstream session; the answer is returned to the upstream as is.
 */
export interface UpstreamRequest {
  method: string;
  params?: Record<string, unknown>;
  signal: AbortSignal;
}

export interface UpstreamCallOptions {
  signal?: AbortSignal;
  /** Overrides the configured per-tool timeout. */
  timeoutMs?: number;
  /** Higher runs first in the queue (default 0). */
  priority?: number;
  /** MCP progress from the upstream, forwarded. */
  progress?: (p: { progress: number; total?: number; message?: string }) => void;
  /** isolated sharing: the downstream session this call belongs to (one child per key). */
  sessionKey?: string;
  /**
   * isolated sharing only: answers the upstream's own requests (sampling, elicitation, roots)
   * made during this session, usually by forwarding them to the downstream client. The hook of
   * the most recent call of the session is used. Without it such requests get "method not found".
   */
  onRequest?: (request: UpstreamRequest) => Promise<Record<string, unknown>>;
  /** Skip the response cache for this call (still fills it). */
  noCache?: boolean;
}

export interface UpstreamChildStatus {
  pid?: number;
  state: UpstreamState;
  inFlight: number;
  sessionKey?: string;
}

export interface UpstreamStatus {
  name: string;
  transport: 'stdio' | 'http';
  sharing: 'shared' | 'pool' | 'isolated';
  state: UpstreamState;
  /** Why it is in crash-loop / last error, secrets redacted. */
  reason?: string;
  children: UpstreamChildStatus[];
  restarts: number;
  queue: { waiting: number; running: number; capacity: number };
  breaker: 'closed' | 'open' | 'half-open';
  cache: { l1Hits: number; l2Hits: number; misses: number; entries: number };
}

/**
 * A connected upstream. Errors are TwlError with codes TWL_UPSTREAM_* (unavailable, crash-loop,
 * timeout, breaker-open, queue-full, tool-error, invalid) and messages that name the upstream.
 */
export interface Upstream {
  readonly name: string;
  readonly config: UpstreamConfig;
  /** The tools after include/exclude globs; cached until list_changed or restart. */
  listTools(options?: { signal?: AbortSignal; sessionKey?: string }): Promise<UpstreamTool[]>;
  /**
   * Calls one tool (its upstream name). Resolves with the upstream's CallToolResult, including
   * isError results (a tool-level error is a result, not an exception).
   */
  callTool(tool: string, args: Record<string, unknown>, options?: UpstreamCallOptions): Promise<CallToolResult>;
  /** Ends an isolated session's child (downstream DELETE / session expiry). */
  closeSession(sessionKey: string): Promise<void>;
  /** Sends one non-tool MCP request (resources, prompts, completion) as is: what `twl bridge` forwards. */
  request(method: ForwardedMethod, params: Record<string, unknown> | undefined, options?: { signal?: AbortSignal; sessionKey?: string }): Promise<Record<string, unknown>>;
  /** The capabilities the upstream's server declared (starts a child if none runs). */
  capabilities(options?: { sessionKey?: string }): Promise<Record<string, unknown>>;
  status(): UpstreamStatus;
  /** Fires when the upstream's tool list changed (list_changed notification or restart). */
  onToolsChanged(listener: () => void): () => void;
  /** Whether a tool is read-only (its readOnlyHint from the last listing), for approval and caching decisions. */
  isReadOnly(tool: string): boolean;
}

/** The requests `twl bridge` forwards to its upstream besides tools. */
export const forwardedMethods = ['resources/list', 'resources/templates/list', 'resources/read', 'resources/subscribe', 'resources/unsubscribe', 'prompts/list', 'prompts/get', 'completion/complete'] as const;
export type ForwardedMethod = (typeof forwardedMethods)[number];

export interface UpstreamSet {
  get(name: string): Upstream | undefined;
  all(): Upstream[];
  /**
   * Brings the set to these entries: upstreams no longer in it, or whose entry changed, are
   * stopped; new and changed ones are opened (started on first use). Resolves with the names
   * that were added, removed or changed.
   */
  update?(entries: UpstreamConfig[]): Promise<string[]>;
  /** Stops every child (process group SIGTERM, then SIGKILL after the grace period). */
  close(): Promise<void>;
}

export interface UpstreamDeps {
  logger: Logger;
  /** twl's L2 cache (Redis or the embedded store), opened on first use. */
  cache?: () => Promise<Cache>;
  secrets: SecretBox;
  /** Children across every upstream of this set (default 64). */
  maxChildren?: number;
  /** Environment `${env:NAME}` references read from (default process.env). */
  env?: NodeJS.ProcessEnv;
}
