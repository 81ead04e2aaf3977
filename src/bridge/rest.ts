/**
 * The seed's REST face of the bridge: `POST /mcp/tools/list` and `POST /mcp/tools/call`, with
 * X-Session-ID (the caller's session; in isolated sharing, its own upstream child), X-Priority
 * (its place in the upstream's queue) and X-Timeout (how long the call may take). Calls take the
 * catalog's one call path, like MCP calls: the same role checks, audit rows and metrics.
 */
import type http from 'node:http';
import type { RouteContext } from '../http/server.js';
import { HeaderError, parsePriority, parseSessionId, parseTimeout } from './headers.js';
import { RestSessions } from './sessions.js';
import type { BridgeCatalog } from './tools.js';

export const restPaths = ['/mcp/tools/list', '/mcp/tools/call'] as const;

/** A request id the caller chose, echoed back: a string or a number, like JSON-RPC's. */
const requestIdOf = (body: Record<string, unknown>): string | number | undefined => {
  const id = body.request_id;
  if (id === undefined) return undefined;
  if ((typeof id === 'string' && id.length <= 256) || (typeof id === 'number' && Number.isFinite(id))) return id;
  throw new HeaderError('request_id must be a string of at most 256 characters or a number.');
};

export interface RestFaceOptions {
  catalog: BridgeCatalog;
  sessions: RestSessions;
  /** isolated sharing: a session's calls go to the session's own upstream child. */
  isolated: boolean;
}

/** The REST routes; resolves false for any other path, so the server answers it. */
export function restFace({ catalog, sessions, isolated }: RestFaceOptions) {
  return async (req: http.IncomingMessage, res: http.ServerResponse, ctx: RouteContext): Promise<boolean> => {
    const path = ctx.url.pathname;
    if (!(restPaths as readonly string[]).includes(path)) return false;
    if (req.method !== 'POST') {
      ctx.json(405, { error: { code: 'HTTP_405', message: `Use POST ${path}.` } });
      return true;
    }
    let requestId: string | number | undefined;
    let done: (() => void) | undefined;
    try {
      const sessionId = parseSessionId(req.headers['x-session-id']);
      const priority = parsePriority(req.headers['x-priority']);
      const timeoutMs = parseTimeout(req.headers['x-timeout']);
      const body = await ctx.body();
      if (body !== undefined && (typeof body !== 'object' || body === null || Array.isArray(body))) throw new HeaderError('The body must be a JSON object.');
      const fields = (body ?? {}) as Record<string, unknown>;
      requestId = requestIdOf(fields);
      const key = sessionId ? RestSessions.keyOf(ctx.caller.principal, sessionId) : undefined;
      done = key ? sessions.begin(key) : undefined;
      const echo = { ...(sessionId ? { session_id: sessionId } : {}), ...(requestId !== undefined ? { request_id: requestId } : {}) };
      if (path === '/mcp/tools/list') {
        const { tools, cached } = await catalog.listWithCacheState({ role: ctx.caller.role });
        ctx.json(200, {
          tools: tools.map((t) => ({ name: t.name, title: t.title, description: t.description, inputSchema: t.inputSchema, ...(t.outputSchema ? { outputSchema: t.outputSchema } : {}), annotations: t.annotations })),
          cached,
          // The list is kept until the upstream says it changed or restarts, not for a fixed time.
          cache_expires: null,
          ...echo,
        });
        return true;
      }
      const { name, arguments: args } = fields;
      if (typeof name !== 'string' || !name) throw new HeaderError('The body must name the tool: {"name": "…", "arguments": {…}}.');
      if (args !== undefined && (typeof args !== 'object' || args === null || Array.isArray(args))) throw new HeaderError('"arguments" must be a JSON object.');
      const controller = new AbortController();
      res.on('close', () => !res.writableFinished && controller.abort());
      const result = await catalog.call(name, args ?? {}, {
        face: 'rest',
        actor: `rest:${ctx.caller.principal}${ctx.caller.name ? ` (${ctx.caller.name})` : ''}`,
        role: ctx.caller.role,
        signal: controller.signal,
        ...(timeoutMs !== undefined ? { timeoutMs } : {}),
        ...(priority !== undefined ? { priority } : {}),
        ...(isolated && key ? { sessionKey: key } : {}),
      });
      ctx.json(200, { content: result.content, ...(result.structured ? { structuredContent: result.structured } : {}), isError: result.isError ?? false, ...echo });
    } catch (err) {
      if (err instanceof HeaderError) ctx.json(400, { error: { code: 'HTTP_400', message: err.message }, ...(requestId !== undefined ? { request_id: requestId } : {}) });
      else ctx.fail(err, requestId !== undefined ? { request_id: requestId } : {});
    } finally {
      done?.();
    }
    return true;
  };
}
