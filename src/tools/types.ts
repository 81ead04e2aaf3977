/**
 * The tool catalog's types, with no runtime code: the op context (src/runtime/context.ts) names
 * them without importing the catalog, so ops → agents → catalog → ops never closes a circle.
 */
import type { OpAnnotations, Role } from '../ops/op.js';
import type { Face, Progress } from '../runtime/context.js';
import type { Llm } from '../runtime/llm.js';
import type { UpstreamCallOptions } from '../upstream/types.js';

export type ToolSource = 'twl' | 'workflow' | `upstream:${string}`;

/** One callable tool: a twl op (its MCP name) or an upstream's tool (`<upstream>_<tool>`). */
export interface CatalogTool {
  name: string;
  title: string;
  description: string;
  /** JSON Schema of the input (an object schema). */
  inputSchema: Record<string, unknown>;
  outputSchema?: Record<string, unknown>;
  annotations: OpAnnotations;
  minRole: Role;
  /** Asks before running (a terminal prompt, --yes, MCP elicitation), unless the caller approved it already. */
  needsApproval: boolean;
  source: ToolSource;
  /** What API keys are granted (`twl keys create --namespaces`): `twl` for twl's own, an upstream's namespace for its tools. */
  namespace?: string;
}

/** twl's own tools' namespace, for grants. */
export const TWL_NAMESPACE = 'twl';
/** Workflows' namespace, for grants. */
export const WORKFLOW_NAMESPACE = 'workflow';

/** A tool's namespace: the one it declares, else by its source. */
export const namespaceOfTool = (tool: { namespace?: string; source: string }): string =>
  tool.namespace ?? (tool.source === 'twl' ? TWL_NAMESPACE : tool.source === 'workflow' ? WORKFLOW_NAMESPACE : tool.source.replace(/^upstream:/, ''));

/** Whether a grant (undefined: every namespace) reaches a namespace. */
export const grantReaches = (namespaces: readonly string[] | undefined, namespace: string): boolean => namespaces === undefined || namespaces.includes(namespace);

/** Whether a grant (undefined: every namespace) covers a tool. */
export const namespaceAllows = (tool: { namespace?: string; source: string }, namespaces: readonly string[] | undefined): boolean => grantReaches(namespaces, namespaceOfTool(tool));

/** A content block of a tool result, as MCP defines them (text, image, resource…). */
export type ContentBlock = { type: string } & Record<string, unknown>;

export interface ToolResult {
  /** A twl op's output, or an upstream's structuredContent. */
  structured?: Record<string, unknown>;
  content: ContentBlock[];
  /** An upstream tool that answered with an error result (a result, not an exception). */
  isError?: boolean;
}

export interface CallOptions {
  /** Which face the call came through, and who made it (audit rows, timelines). */
  face: Face;
  actor: string;
  /** The caller's role (HTTP keys, OAuth tokens). Undefined: a local user (CLI, stdio), no role check. */
  role?: Role;
  /** The namespaces the caller's key is granted; undefined: every one. A tool outside them is refused as one that exists nowhere (`unseenTool`: TWL_TOOL_UNKNOWN); its audit row says TWL_NAMESPACE_DENIED. */
  namespaces?: string[];
  /** The id of the caller's API key (`twl keys list`); undefined: no key (the command line, stdio, OAuth, auth: none). A task it creates records it, and stops running once it is revoked. */
  keyId?: number;
  /** When the caller's grant ends (ISO 8601): an OAuth access token's `exp`; undefined: it does not end by itself. A task it creates records it, and stops running then. */
  grantExpiresAt?: string;
  /** What inside twl made the call, when not the face itself (`maestro`: a plan or runbook step). */
  via?: string;
  signal?: AbortSignal;
  /** Overrides the tool's own timeout. */
  timeoutMs?: number;
  /** Asks the person behind the caller; undefined: nobody can answer here. */
  ask?: (question: string) => Promise<boolean | undefined>;
  /** Approved already (a runbook step its plan asked about, `--yes`): no question is asked. */
  approved?: boolean;
  warn?: (message: string) => void;
  progress?: (update: Progress) => void;
  /** An LLM for this call only (the MCP client's model through sampling). */
  llm?: Llm;
  /** Queue priority at the upstream (higher first). */
  priority?: number;
  /** The downstream session, for upstreams shared `isolated` (one child per session). */
  sessionKey?: string;
  /** isolated upstreams: answers the upstream's own requests (elicitation, sampling) during the call, usually from the downstream client. */
  onRequest?: UpstreamCallOptions['onRequest'];
}

/** A workflow as a catalog tool (src/workflows/provider.ts): it runs its steps through the catalog it is in. */
export interface WorkflowTool {
  tool: CatalogTool;
  run(input: Record<string, unknown>, options: CallOptions, catalog: ToolCatalog): Promise<ToolResult>;
}

/** What a workflow provider may ask of the catalog: twl's and the upstreams' tools (never workflows). */
export interface ToolLookupSource {
  get(name: string): Promise<CatalogTool | undefined>;
  names(): Promise<string[]>;
}

export interface ListOptions {
  /** `twl`, `workflow`, `upstream` (every upstream) or `upstream:NAME`. */
  source?: string;
  /** Only the tools this role may call. */
  role?: Role;
  /** Only the tools of these namespaces (a key's grant); undefined: every one. */
  namespaces?: string[];
}

/** A TwlError as the catalog's types name it (no runtime import). */
export interface TwlErrorLike extends Error {
  code: string;
}

export interface ToolCatalog {
  list(options?: ListOptions): Promise<CatalogTool[]>;
  /** A tool by name; undefined also when it is outside the given namespaces. */
  get(name: string, options?: Pick<ListOptions, 'namespaces'>): Promise<CatalogTool | undefined>;
  /** The one call path: role, approval, timeout, cancellation, progress, audit row, metrics, activity. */
  call(name: string, input: unknown, options: CallOptions): Promise<ToolResult>;
  /**
   * The refusal a call would meet before it runs (unknown tool, quarantined upstream, outside the
   * namespaces, above the role), or undefined; nothing is called or recorded.
   */
  refusal?(name: string, options: Pick<CallOptions, 'namespaces' | 'role'>): Promise<TwlErrorLike | undefined>;
  /** Records a call refused before it reached the catalog (an agent's tool outside its allow-list), as an audit row. */
  refused?(name: string, input: unknown, options: CallOptions, errorCode: string): Promise<void>;
  /** Fires when the list changed (an upstream's list_changed or restart). Returns the unsubscribe. */
  onChanged(listener: () => void): () => void;
  /** Writes the pending audit rows and stops the upstreams. */
  close(): Promise<void>;
}
