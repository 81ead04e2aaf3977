import type { Config as OclifConfig } from '@oclif/core';
import { CLIENT_CAPABILITIES_META_KEY, McpServer, inputRequired, inputResponse, type CallToolResult, type ClientCapabilities, type RegisteredTool, type ServerContext } from '@modelcontextprotocol/server';
import { createHash } from 'node:crypto';
import { errorBody } from '../cli/base.js';
import type { AnyOp, Role } from '../ops/op.js';
import type { Catalog } from '../tools/catalog.js';
import type { CallOptions, CatalogTool } from '../tools/types.js';
import type { Progress, Runtime } from '../runtime/context.js';
import { mcpCalls } from '../runtime/metrics.js';
import { registerPrompts } from './prompts.js';
import { SamplingLlm } from './sampling.js';
import type { ServerGrant } from './resource-grant.js';
import { registerResources } from './resources.js';

export interface OpCommandEntry {
  /** The oclif command id, `topic:verb`. */
  commandId: string;
  op: AnyOp;
}

/**
 * Every loaded command (twl's own and its plugins') that carries an op: the MCP tool list
 * is derived from the command tree, so the two cannot drift.
 */
export async function opCommands(config: OclifConfig): Promise<OpCommandEntry[]> {
  const entries: OpCommandEntry[] = [];
  for (const command of config.commands) {
    const loaded = (await command.load()) as { op?: AnyOp };
    if (loaded.op) entries.push({ commandId: command.id, op: loaded.op });
  }
  const seen = new Map<string, string>();
  for (const { commandId, op } of entries) {
    const other = seen.get(op.mcpName);
    if (other) throw new Error(`Commands ${other} and ${commandId} both declare the MCP tool ${op.mcpName}.`);
    seen.set(op.mcpName, commandId);
  }
  return entries.sort((a, b) => a.op.mcpName.localeCompare(b.op.mcpName));
}

const text = (value: unknown) => JSON.stringify(value);

/**
 * The protocol era an instance serves: `legacy` for the 2025 revisions (initialize, sessions,
 * server-to-client requests), `modern` for 2026-07-28 (a `_meta` envelope per request; the
 * server asks the client through multi round-trip results instead of requests).
 */
export type Era = 'legacy' | 'modern';

/** Long ops report progress as notifications/progress when the client asked for them (a progress token). */
function progressNotifier(ctx: ServerContext): (update: Progress) => void {
  const token = ctx.mcpReq._meta?.progressToken;
  if (token === undefined) return () => undefined;
  let count = 0;
  return (update) => {
    count++;
    const progress = update.done !== undefined ? update.done + (update.status === 'running' ? 0 : 1) : count;
    void ctx.mcpReq
      .notify({ method: 'notifications/progress', params: { progressToken: token, progress, ...(update.total ? { total: update.total } : {}), message: update.message } })
      .catch(() => undefined);
  };
}

const approvalSchema = (question: string) => ({
  type: 'object' as const,
  properties: { approve: { type: 'boolean' as const, title: 'Approve', description: question } },
  required: ['approve'],
});

/** The inputRequests key of a question: the same question gets the same key on every round. */
const approvalKey = (question: string) => `approve-${createHash('sha256').update(question).digest('hex').slice(0, 16)}`;

/**
 * Approvals asked of the person behind the client. 2025 revisions: an elicitation request
 * during the call. 2026-07-28: a multi round-trip call: a question without an answer in
 * the request's inputResponses is left unanswered (the op stops short, as for a client that
 * cannot ask) and the call returns input_required with the questions; the client retries
 * with the answers, and each answered question lets the op go one step further. Without
 * elicitation support the answer is undefined, so the op refuses or waits, saying why.
 */
class Approvals {
  readonly pending = new Map<string, string>();
  constructor(
    private readonly server: McpServer,
    private readonly ctx: ServerContext,
    private readonly era: Era,
  ) {}

  /** Whether the client declared elicitation: at initialize (2025), or in this request's envelope (2026-07-28). */
  private get canAsk(): boolean {
    const declared = this.era === 'modern' ? ((this.ctx.mcpReq.envelope as Record<string, unknown> | undefined)?.[CLIENT_CAPABILITIES_META_KEY] as ClientCapabilities | undefined) : this.server.server.getClientCapabilities();
    return Boolean(declared?.elicitation);
  }

  ask = async (question: string): Promise<boolean | undefined> => {
    if (!this.canAsk) return undefined;
    if (this.era === 'legacy') {
      const answer = await this.ctx.mcpReq.elicitInput({ mode: 'form', message: question, requestedSchema: approvalSchema(question) });
      return answer.action === 'accept' && answer.content?.approve === true;
    }
    const key = approvalKey(question);
    const answer = inputResponse(this.ctx.mcpReq.inputResponses, key);
    if (answer.kind === 'elicit') return answer.action === 'accept' && answer.content?.approve === true;
    this.pending.set(key, question);
    return undefined;
  };

  /** The input_required result asking what this round could not answer, if anything. */
  request(): CallToolResult | undefined {
    if (!this.pending.size) return undefined;
    const inputRequests = Object.fromEntries([...this.pending].map(([key, question]) => [key, inputRequired.elicit({ message: question, requestedSchema: approvalSchema(question) })]));
    return inputRequired({ inputRequests }) as unknown as CallToolResult;
  }
}

/**
 * Without Ollama, the client's own model through sampling, when it offers one (2025 revisions;
 * 2026-07-28 deprecates sampling, and Maestro's multi-step loop does not fit its round trips).
 */
function clientModel(server: McpServer, ctx: ServerContext, era: Era, runtime: Runtime): SamplingLlm | undefined {
  if (era !== 'legacy' || runtime.llm()) return undefined;
  const sampling = server.server.getClientCapabilities()?.sampling;
  if (!sampling) return undefined;
  return new SamplingLlm(ctx, Boolean(sampling.tools), server.server.getClientVersion()?.name ?? 'client', runtime.config.llm.timeout);
}

/**
 * An upstream's own requests during a call (upstreams shared `isolated` only, see
 * docs/upstreams.md), forwarded to this 2025 session's client when it declared the capability;
 * otherwise the upstream gets an error saying it is not available. 2026-07-28 requests have no
 * channel back to the client mid-call, so they forward nothing.
 */
function clientRequests(server: McpServer, ctx: ServerContext, era: Era): CallOptions['onRequest'] {
  if (era !== 'legacy') return undefined;
  return async ({ method, params, signal }) => {
    const declared = server.server.getClientCapabilities();
    if (method === 'elicitation/create' && declared?.elicitation) return (await ctx.mcpReq.elicitInput(params as never, { signal })) as Record<string, unknown>;
    if (method === 'sampling/createMessage' && declared?.sampling) return (await ctx.mcpReq.requestSampling(params as never, { signal })) as Record<string, unknown>;
    throw new Error(`${method} is not available: the downstream client did not declare ${method.split('/')[0]}`);
  };
}

/** Who calls over MCP: the authenticated principal over HTTP, else the client's name (stdio). */
const mcpActor = (server: McpServer, ctx: ServerContext): string => `mcp:${ctx.http?.authInfo?.clientId ?? server.server.getClientVersion()?.name ?? 'client'}`;

/** Op warnings reach the client as log notifications too (filtered by its logging/setLevel). */
const logToClient = (ctx: ServerContext, level: 'warning' | 'error', data: unknown) => void ctx.mcpReq.log(level, data, 'twl').catch(() => undefined);

/** A tool as served: its catalog entry and, for twl's own, the op (registered with its zod schemas, as ever). */
export interface ServedTool {
  tool: CatalogTool;
  op?: AnyOp;
}

/** What a server needs of the catalog: the catalog itself, or a view of it (`twl bridge`: one upstream's tools). */
export type ServedCatalog = Pick<Catalog, 'list' | 'get' | 'call' | 'onChanged' | 'op' | 'refused' | 'closeSession'> & Partial<Pick<Catalog, 'quarantineOf'>>;

/** The catalog's tools a role (and a key's namespaces) may call (every tool for a local client: stdio), ready to register. */
export async function servedTools(catalog: ServedCatalog, role?: Role, namespaces?: string[]): Promise<ServedTool[]> {
  const tools = await catalog.list({ ...(role === undefined ? {} : { role }), ...(namespaces === undefined ? {} : { namespaces }) });
  return Promise.all(tools.map(async (tool) => ({ tool, ...(tool.source === 'twl' ? { op: await catalog.op(tool.name) } : {}) })));
}

/**
 * An upstream tool's JSON Schema as the Standard Schema the SDK registers: listed as declared
 * (checked by the catalog), and not validated here: the upstream validates its own input, and a
 * hostile schema (a ReDoS pattern) is never compiled by twl.
 */
const passThrough = (schema: Record<string, unknown>) => ({
  '~standard': {
    version: 1 as const,
    vendor: 'twl',
    jsonSchema: { input: () => schema, output: () => schema },
    validate: (value: unknown) => (value && typeof value === 'object' && !Array.isArray(value) ? { value } : { issues: [{ message: 'expected a JSON object' }] }),
  },
});

/** The role of the caller over HTTP (an API key's, a token's); undefined for stdio (a local client). */
const callerRole = (ctx: ServerContext): Role | undefined => ctx.http?.authInfo?.extra?.role as Role | undefined;
/** The namespaces the caller's key is granted over HTTP; undefined: every one (stdio, keys without a grant). */
const callerNamespaces = (ctx: ServerContext): string[] | undefined => ctx.http?.authInfo?.extra?.namespaces as string[] | undefined;
/** The id of the caller's API key over HTTP; undefined: no key (stdio, OAuth tokens, auth: none). */
const callerKeyId = (ctx: ServerContext): number | undefined => ctx.http?.authInfo?.extra?.keyId as number | undefined;
/** When the caller's grant ends over HTTP (an OAuth access token's `exp`); undefined: it does not (stdio, API keys, auth: none). */
const callerGrantExpiresAt = (ctx: ServerContext): string | undefined => ctx.http?.authInfo?.extra?.grantExpiresAt as string | undefined;

/** The tools each server registered, so a changed catalog can be applied to a connected server. */
const registered = new WeakMap<McpServer, { era: Era; catalog: ServedCatalog; runtime: Runtime; tools: Map<string, { served: ServedTool; handle: RegisteredTool }> }>();

/** Whether two listings of one tool differ in anything a client sees. */
const sameTool = (a: ServedTool, b: ServedTool): boolean => a.op === b.op && (a.op !== undefined || JSON.stringify(a.tool) === JSON.stringify(b.tool));

/**
 * Applies a new tool list to a server that may be connected (a 2025 session, a stdio client):
 * tools gone are removed, new ones registered, changed ones replaced; the SDK sends
 * notifications/tools/list_changed for each change, so the client lists again.
 */
export function updateServedTools(server: McpServer, tools: ServedTool[]): boolean {
  const state = registered.get(server);
  if (!state) return false;
  const next = new Map(tools.map((t) => [t.tool.name, t]));
  let changed = false;
  for (const [name, { served, handle }] of state.tools) {
    const fresh = next.get(name);
    if (fresh && sameTool(served, fresh)) continue;
    handle.remove();
    state.tools.delete(name);
    changed = true;
  }
  for (const served of tools) {
    if (state.tools.has(served.tool.name)) continue;
    state.tools.set(served.tool.name, { served, handle: registerServed(server, state.catalog, served, state.runtime, state.era) });
    changed = true;
  }
  return changed;
}

/**
 * What a server offers besides tools, registered on each server built: twl's resources and
 * prompts, or a bridge's forwarding (src/bridge/forward.ts). `grant`: the namespaces the server is
 * built for (one server per key's grant over HTTP; none, every one): what it registers follows it.
 */
export type McpExtras = (server: McpServer, grant: ServerGrant) => void;

export interface ServerOptions {
  /** The caller's key's namespaces (`twl keys create --namespaces`); undefined: every one (stdio, a key without a grant). */
  namespaces?: readonly string[];
  /** Instead of twl's resources and prompts. */
  extras?: McpExtras;
}

/**
 * One server factory for any transport and era: every catalog tool the caller may call. twl's ops
 * answer with structuredContent (the command's --json result); upstream tools with what their
 * upstream answered. Every call goes through the catalog (role, approval, audit row, activity).
 */
export function createMcpServer(catalog: ServedCatalog, tools: ServedTool[], runtime: Runtime, version: string, era: Era = 'legacy', options: ServerOptions = {}): McpServer {
  const server = new McpServer({ name: 'twl', title: 'TwisterLab', version }, { capabilities: { logging: {}, tools: { listChanged: true } } });
  const state = { era, catalog, runtime, tools: new Map<string, { served: ServedTool; handle: RegisteredTool }>() };
  registered.set(server, state);
  for (const served of tools) state.tools.set(served.tool.name, { served, handle: registerServed(server, catalog, served, runtime, era) });
  const { extras = twlExtras(runtime), namespaces } = options;
  extras(server, namespaces ? { namespaces } : {});
  return server;
}

/** Registers one catalog tool on a server: every call goes through the catalog with the caller's role and namespaces. */
function registerServed(server: McpServer, catalog: ServedCatalog, { tool, op }: ServedTool, runtime: Runtime, era: Era): RegisteredTool {
  {
    const config = op
      ? { title: op.title, description: op.description, inputSchema: op.input, outputSchema: op.output, annotations: { title: op.title, ...op.annotations } }
      : {
          title: tool.title,
          description: tool.description,
          inputSchema: passThrough(tool.inputSchema),
          ...(tool.outputSchema ? { outputSchema: passThrough(tool.outputSchema) } : {}),
          annotations: { title: tool.title, ...tool.annotations },
        };
    return server.registerTool(tool.name, config, async (args: unknown, ctx: ServerContext): Promise<CallToolResult> => {
      const warnings: string[] = [];
      const approvals = new Approvals(server, ctx, era);
      try {
        const result = await catalog.call(tool.name, args, {
          face: 'mcp',
          actor: mcpActor(server, ctx),
          role: callerRole(ctx),
          namespaces: callerNamespaces(ctx),
          keyId: callerKeyId(ctx),
          grantExpiresAt: callerGrantExpiresAt(ctx),
          signal: ctx.mcpReq.signal,
          warn: (m) => {
            warnings.push(m);
            logToClient(ctx, 'warning', { tool: tool.name, message: m });
          },
          ask: approvals.ask,
          progress: progressNotifier(ctx),
          llm: clientModel(server, ctx, era, runtime),
          sessionKey: ctx.sessionId,
          onRequest: clientRequests(server, ctx, era),
        });
        const asked = approvals.request();
        if (asked) return asked;
        mcpCalls.inc({ tool: tool.name, status: result.isError ? 'error' : 'ok' });
        if (!op) return { content: result.content as CallToolResult['content'], ...(result.structured ? { structuredContent: result.structured } : {}), ...(result.isError ? { isError: true } : {}) };
        const content: CallToolResult['content'] = [{ type: 'text', text: text(result.structured) }];
        for (const warning of warnings) content.push({ type: 'text', text: `Warning: ${warning}` });
        return { content, structuredContent: result.structured };
      } catch (err) {
        const asked = approvals.request();
        if (asked) return asked;
        const body = errorBody(err);
        mcpCalls.inc({ tool: tool.name, status: 'error' });
        runtime.logger.warn({ tool: tool.name, code: body.code }, String(body.message));
        logToClient(ctx, 'error', { tool: tool.name, error: body });
        return { isError: true, content: [{ type: 'text', text: text({ error: body }) }] };
      }
    });
  }
}

/** twl's resources (tickets, the audit log, health) with subscriptions, and its prompts, within the server's grant; a bridge serves its upstream's instead. */
const twlExtras =
  (runtime: Runtime): McpExtras =>
  (server, grant) => {
    registerResources(server, runtime, grant);
    registerPrompts(server, runtime, grant);
  };
