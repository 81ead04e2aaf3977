/**
 * What the bridge serves besides tools: the upstream's resources, prompts and completions,
 * forwarded as they are (requests and answers unchanged, errors naming the upstream), in place of
 * twl's own resources and prompts. Only what the upstream declared at its handshake is declared
 * and forwarded. Notifications the upstream sends on its own (resources/updated, list_changed) are
 * not relayed: a subscription is accepted by the upstream, but its updates stay there.
 */
import { ProtocolError, ProtocolErrorCode, type McpServer, type ServerContext } from '@modelcontextprotocol/server';
import type { Role } from '../ops/op.js';
import type { McpExtras } from '../mcp/server.js';
import { grantReaches } from '../tools/types.js';
import type { ForwardedMethod, Upstream } from '../upstream/types.js';
import { unknownToolResult } from './direct.js';
import type { BridgeCatalog } from './tools.js';

/** The forwarded methods by the capability that declares them. */
const byCapability: Record<'resources' | 'prompts' | 'completions', ForwardedMethod[]> = {
  resources: ['resources/list', 'resources/templates/list', 'resources/read'],
  prompts: ['prompts/list', 'prompts/get'],
  completions: ['completion/complete'],
};

/**
 * Registers the forwarding on each MCP server the bridge builds. `capabilities` are the upstream's
 * (read once at start); `isolated`: a 2025 session's requests go to the session's own child.
 * `namespace`: the upstream's (what API keys are granted): a server built for a key limited to
 * other namespaces forwards nothing and declares nothing, as for an upstream that declared none
 * (the key sees none of its tools either).
 */
export function forwardExtras(upstream: Upstream, catalog: BridgeCatalog, capabilities: Record<string, unknown>, isolated: boolean, namespace: string): McpExtras {
  const declared: Record<string, unknown> = {};
  const methods: ForwardedMethod[] = [];
  for (const capability of Object.keys(byCapability) as Array<keyof typeof byCapability>) {
    const value = capabilities[capability];
    if (!value || typeof value !== 'object') continue;
    if (capability === 'resources') {
      // Subscriptions are forwarded (the upstream keeps them); list_changed is not relayed, so it is not declared.
      const subscribe = (value as { subscribe?: unknown }).subscribe === true;
      declared.resources = subscribe ? { subscribe: true } : {};
      if (subscribe) methods.push('resources/subscribe', 'resources/unsubscribe');
    } else declared[capability] = {};
    methods.push(...byCapability[capability]);
  }
  return (server, grant) => {
    unknownToolsAsToolErrors(server, catalog);
    if (!methods.length || !grantReaches(grant.namespaces, namespace)) return;
    server.server.registerCapabilities(declared);
    for (const method of methods) {
      server.server.setRequestHandler(method, async (request: { params?: Record<string, unknown> }, ctx: ServerContext) => {
        const params = request.params ? withoutEnvelope(request.params) : undefined;
        return (await upstream.request(method, params, { signal: ctx.mcpReq.signal, ...(isolated && ctx.sessionId ? { sessionKey: ctx.sessionId } : {}) })) as never;
      });
    }
  };
}

/** The request's params without twl's side of the protocol (the 2026-07-28 `_meta` envelope keys): the upstream gets its own. */
function withoutEnvelope(params: Record<string, unknown>): Record<string, unknown> {
  const meta = params._meta as Record<string, unknown> | undefined;
  if (!meta) return params;
  const kept = Object.fromEntries(Object.entries(meta).filter(([k]) => !k.startsWith('io.modelcontextprotocol/')));
  const { _meta: _, ...rest } = params;
  return Object.keys(kept).length ? { ...rest, _meta: kept } : rest;
}

type Handler = (request: { params: { name: string; arguments?: unknown } }, ctx: ServerContext) => Promise<unknown>;

/**
 * A call of a tool the bridge does not serve is answered as a tool error (isError), the way the
 * stdio servers written with the 1.x SDK answer it themselves, rather than the 2.x SDK's protocol
 * error: clients of the stdio server see the same answer through the bridge. The call is recorded
 * as refused. (`_getRequestHandler` is the SDK's protected accessor for a registered handler.)
 */
function unknownToolsAsToolErrors(server: McpServer, catalog: BridgeCatalog): void {
  const registered = (server.server as unknown as { _getRequestHandler?(method: string): Handler | undefined })._getRequestHandler?.('tools/call');
  if (!registered) return;
  server.server.setRequestHandler('tools/call', async (request, ctx) => {
    try {
      return (await registered(request as Parameters<Handler>[0], ctx)) as never;
    } catch (err) {
      const name = String(request.params.name);
      if (!(err instanceof ProtocolError) || err.code !== ProtocolErrorCode.InvalidParams || !err.message.endsWith(`Tool ${name} not found`)) throw err;
      const auth = ctx.http?.authInfo;
      await catalog.refused(name, request.params.arguments, { face: 'mcp', actor: `mcp:${auth?.clientId ?? 'client'}`, role: auth?.extra?.role as Role | undefined }, 'TWL_TOOL_UNKNOWN');
      return unknownToolResult(name) as never;
    }
  });
}
