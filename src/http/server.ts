import type { NodeStreamableHTTPServerTransport } from '@modelcontextprotocol/node';
import type { AuthInfo, McpServer } from '@modelcontextprotocol/server';
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { Socket } from 'node:net';
import { errorBody } from '../cli/base.js';
import type { Era, ServedCatalog, ServedTool } from '../mcp/server.js';
import type { ServerGrant } from '../mcp/resource-grant.js';
import { invoke } from '../ops/invoke.js';
import type { Runtime } from '../runtime/context.js';
import { ExitCode, isTwlError, unseenTool } from '../runtime/errors.js';
import { collectProcessMetrics, httpRequestDuration, mcpSessions, registry } from '../runtime/metrics.js';
import type { Role } from '../ops/op.js';
import { KeyVerifier, bearerToken } from './keys.js';
import { index, serveDocs } from './docs.js';
import { EventsRequestError, eventStreams } from './events.js';
import { acceptance, hostHeaderCount, jsonShape, parseHost, parseOrigin } from './headers.js';
import { authority, hostPortFlags, listenOn } from './listen.js';
import { createJwtVerifier } from './oauth.js';
import { openApiDocument } from './openapi.js';
import { openRateLimiter, rateLimitHeaders } from './rate-limit.js';
import { allowedFor, roleAllows, roleRefusal } from './roles.js';
import { upstreamHealthEntry, upstreamSection } from '../upstream/health.js';
import type { UpstreamStatus } from '../upstream/types.js';
import { namespaceAllows } from '../tools/types.js';
import { StatusTracker, type StatusSections } from './status.js';

export interface HttpOptions {
  host: string;
  port: number;
  /** The tool catalog: twl's ops and the configured upstreams' tools. */
  catalog: ServedCatalog;
  runtime: Runtime;
  version: string;
  /** Host header values accepted besides loopback names (DNS-rebinding protection). */
  allowedHosts?: string[];
  /** What a server built on this one (`twl bridge`) adds or answers differently. */
  extension?: HttpExtension;
  /** The configured upstreams' states (`twl serve`): an `upstreams` section in /mcp/status and dependencies in /health. */
  upstreams?: () => Promise<UpstreamStatus[]>;
  /**
   * The socket, bound already by bindHttpServer for host and port (`twl bridge` binds before it
   * starts its upstream): served once ready, instead of binding here. Its owner closes it if this fails.
   */
  bound?: BoundHttp;
}

/**
 * A listening socket reserved before its server is ready (bindHttpServer), so an address that
 * cannot be bound fails before anything costly starts. Until startHttpServer serves it, every
 * request is answered 503 with Retry-After (TWL_STARTING), /health/live 200.
 */
export interface BoundHttp {
  readonly host: string;
  /** The port bound (the one chosen, for 0). */
  readonly port: number;
  /** Gives the socket up: for a server that will not start (once served, its own close does it). */
  close(): Promise<void>;
}

/** What a route of an extension gets: the checked caller and the server's own body and answer helpers. */
export interface RouteContext {
  url: URL;
  caller: Caller;
  /** The request body parsed as JSON (undefined when empty), within http.bodyLimit and the nesting limit; a bad body answers 400/413 itself. */
  body(): Promise<unknown>;
  json(status: number, body: unknown): void;
  /** Answers an error as every route does: the status by its kind, the error envelope (secrets redacted). */
  fail(err: unknown, extra?: Record<string, unknown>): void;
}

/**
 * A server built on `twl serve --http` (`twl bridge`): extra routes (answered after Host, Origin,
 * the key and the rate limit were checked), its own /mcp/status sections and /health report,
 * what its MCP servers offer besides tools, and a hot path for tools/call.
 */
export interface HttpExtension {
  /** Resolves true when it answered the request. */
  route?(req: http.IncomingMessage, res: http.ServerResponse, ctx: RouteContext): Promise<boolean>;
  status?(): Promise<StatusSections>;
  health?(): Promise<{ status: 'ok' | 'degraded' | 'down'; dependencies: Record<string, unknown> }>;
  /**
   * Registers what the MCP servers offer besides tools, instead of twl's resources and prompts.
   * `grant`: the namespaces of the key the server is built for (none: every one); a key limited to
   * namespaces must learn nothing of the others through them.
   */
  mcpExtras?(server: McpServer, grant: ServerGrant): void;
  /**
   * Answers a plain tools/call itself, without an SDK server and transport: the bridge's hot path.
   * Called only for what needs nothing else (one request, no progress token, JSON accepted, the
   * session, caller and role checked already); resolves with the CallToolResult, or undefined to
   * leave the call to the SDK server (a tool that asks for approval, through elicitation).
   */
  callTool?(call: DirectCall): Promise<Record<string, unknown> | undefined>;
}

export interface DirectCall {
  name: string;
  arguments: Record<string, unknown>;
  caller: Caller;
  /** The 2025 session it came in, if any. */
  sessionId?: string;
  signal: AbortSignal;
}

/** The revision a 2026-07-28 request names in its envelope. */
const MODERN_REVISION = '2026-07-28';
const PROTOCOL_VERSION_KEY = 'io.modelcontextprotocol/protocolVersion';

export interface Caller {
  /** Who the caller is, for sessions and rate limits: `key:<id>`, `jwt:<subject>`, or `local` (auth: none). */
  principal: string;
  role: Role;
  name: string | null;
  /** The catalog namespaces an API key is granted (`twl keys create --namespaces`); undefined: every one. */
  namespaces?: string[];
  /** The API key's id, when the caller is one. */
  keyId?: number;
  /** When the caller's grant ends, ISO 8601: an OAuth access token's `exp`. A task it creates stops running then (TWL_GRANT_EXPIRED). */
  grantExpiresAt?: string;
}

type Transport = NodeStreamableHTTPServerTransport;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** The JSON-RPC error code when /mcp answers it. */
    readonly rpcCode = -32600,
  ) {
    super(message);
  }
}

const loopbackNames = ['localhost', '127.0.0.1', '::1', '[::1]'];
/** Idle per-request MCP servers kept per era and role (about the concurrency one expects). */
const MAX_POOLED = 32;
/** Retry-After of the 503 answered to requests that arrive while the server drains. */
const DRAIN_RETRY_AFTER_SECONDS = 1;
/** Retry-After of the 503 answered to requests that arrive while the server starts (bound, not ready yet). */
const STARTING_RETRY_AFTER_SECONDS = 1;

/** The caller as the SDK's pass-through authInfo, so the per-request server factory sees its role. */
const authInfoOf = (caller: Caller): AuthInfo => ({ token: '', clientId: caller.principal, scopes: [caller.role], extra: { role: caller.role, ...(caller.namespaces ? { namespaces: caller.namespaces } : {}), ...(caller.keyId !== undefined ? { keyId: caller.keyId } : {}), ...(caller.grantExpiresAt ? { grantExpiresAt: caller.grantExpiresAt } : {}) } });
const roleOf = (auth: AuthInfo | undefined): Role => (auth?.extra?.role as Role | undefined) ?? 'viewer';
const namespacesOf = (auth: AuthInfo | undefined): string[] | undefined => auth?.extra?.namespaces as string[] | undefined;

/** The client's address; behind a trusted proxy, the first X-Forwarded-For hop. */
const clientAddress = (req: http.IncomingMessage, trustProxy: boolean): string => {
  const forwarded = trustProxy ? String(req.headers['x-forwarded-for'] ?? '').split(',')[0]?.trim() : '';
  return forwarded || req.socket.remoteAddress || 'unknown';
};

/** Where the OAuth protected-resource metadata lives (RFC 9728), for the server and (path-inserted) for /mcp. */
const resourceMetadataPath = '/.well-known/oauth-protected-resource';

/** Deepest nesting of arrays and objects accepted in a JSON body (JSON-RPC or REST). */
const MAX_JSON_DEPTH = 64;

/** A JSON body, parsed, or an HttpError 400 naming the problem (not JSON, nested too deep). */
function parseJsonBody(raw: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw new HttpError(400, 'The body is not JSON.', -32700);
  }
  const shape = jsonShape(value, MAX_JSON_DEPTH);
  if (shape.depth > MAX_JSON_DEPTH) throw new HttpError(400, `The body nests arrays and objects deeper than ${MAX_JSON_DEPTH} levels.`);
  if (shape.loneSurrogate) throw new HttpError(400, 'The body has a string with a lone UTF-16 surrogate (a \\uD800–\\uDFFF escape without its pair): send valid Unicode.');
  return value;
}

/** HTTP status for a twl error, by its exit code. */
const statusOf = (err: unknown): number => {
  // A PostgreSQL data exception (SQLSTATE class 22: a NUL byte, a number out of range…) comes from the input.
  if (!isTwlError(err)) return /^22[0-9A-Z]{3}$/.test(String((err as { code?: unknown } | null)?.code ?? '')) ? 400 : 500;
  return ({ [ExitCode.usage]: 400, [ExitCode.config]: 500, [ExitCode.refused]: 403, [ExitCode.timeout]: 504, [ExitCode.unavailable]: 503, [ExitCode.notFound]: 404 } as Record<number, number>)[err.exitCode] ?? 500;
};

/** The tool name of an /api/tools/{name} path, percent-decoded; a malformed escape is the caller's error (400). */
const toolName = (pathname: string): string => {
  try {
    return decodeURIComponent(pathname.slice('/api/tools/'.length));
  } catch {
    throw new HttpError(400, `The path ${JSON.stringify(pathname.slice(0, 200))} has a malformed percent-encoding.`);
  }
};

/** A body-less Request carrying the headers the SDK classifies protocol eras by (the body is passed parsed). */
const classifiable = (req: http.IncomingMessage): Request => {
  const headers = new Headers();
  for (const name of ['mcp-protocol-version', 'mcp-method', 'mcp-name']) {
    const value = req.headers[name];
    if (typeof value === 'string') headers.set(name, value);
  }
  return new Request('http://twl/mcp', { method: 'POST', headers });
};

const json = (res: http.ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
};

const jsonRpcError = (res: http.ServerResponse, status: number, code: number, message: string) => json(res, status, { jsonrpc: '2.0', id: null, error: { code, message } });

/** Reads a body up to the limit; larger ones are refused with 413 before they are read whole. */
async function readBody(req: http.IncomingMessage, limit: number): Promise<string> {
  if (Number(req.headers['content-length'] ?? 0) > limit) throw new HttpError(413, `The request body is larger than ${limit} bytes.`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new HttpError(413, `The request body is larger than ${limit} bytes.`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** A refused body is read and dropped while it comes at least this fast on average (bytes a second)… */
const LINGER_MIN_RATE = 64 * 1024;
/** …judged from this long after the answer… */
const LINGER_GRACE_MS = 1000;
/** …and up to this many bytes. */
const LINGER_MAX_BYTES = 64 * 1024 * 1024;

/**
 * The lingering close of a request answered before its body was read (as web servers do). Closing a
 * socket with unread data resets the connection, and the reset can reach a client still writing its
 * body before it has read the answer: it sees EPIPE or ECONNRESET instead of the 413. So once the
 * answer is out, only our side is shut (the client reads the answer and end of stream), and what the
 * client still sends is read and dropped while it keeps coming at a reasonable rate: a real client
 * sending a large body, even on a loaded machine, is not cut off (clients that read while they write,
 * as curl and undici do, stop and hang up once they see the answer). A body trickling in (slow loris),
 * one past the byte cap, or one still coming after the request timeout gets the socket closed.
 */
function lingerAfterRefusal(req: http.IncomingMessage, maxMs: number): void {
  const socket = req.socket as Socket & { destroySoon?: () => void };
  // Node ends *and destroys* the socket after a `Connection: close` answer (destroySoon); only end it here.
  socket.destroySoon = () => {
    socket.end();
    const start = Date.now();
    const bytesAtAnswer = socket.bytesRead;
    const check = setInterval(() => {
      const elapsed = Date.now() - start;
      const dropped = socket.bytesRead - bytesAtAnswer;
      const tooSlow = elapsed >= LINGER_GRACE_MS && dropped < (LINGER_MIN_RATE * elapsed) / 1000;
      if (req.complete || tooSlow || dropped > LINGER_MAX_BYTES || elapsed > maxMs) socket.destroy();
    }, 250);
    check.unref();
    socket.once('close', () => clearInterval(check));
  };
}

/** An HTTP server whose request handler is attached later: until then it answers as starting. */
interface Listener {
  server: http.Server;
  serve(handler: (req: http.IncomingMessage, res: http.ServerResponse) => Promise<unknown>): void;
}

/** The listeners of the BoundHttp bindHttpServer returned, for startHttpServer. */
const listeners = new WeakMap<BoundHttp, Listener>();

function createListener(runtime: Runtime): Listener {
  const timeouts = runtime.config.http.timeouts;
  let handler: ((req: http.IncomingMessage, res: http.ServerResponse) => Promise<unknown>) | undefined;
  const server = http.createServer(
    {
      requestTimeout: timeouts.request * 1000,
      headersTimeout: Math.min(timeouts.headers, timeouts.request) * 1000,
      keepAliveTimeout: timeouts.keepAlive * 1000,
      // How often the header and request timeouts are checked (Node's default is 30 s).
      connectionsCheckingInterval: 1000,
    },
    (req, res) => {
      if (handler) return void handler(req, res);
      // Bound, not ready (`twl bridge` probing its upstream): refused unprocessed, so a client or
      // load balancer retries; the process is alive. Any body is read and dropped.
      req.resume();
      if ((req.url ?? '').split('?')[0] === '/health/live') return json(res, 200, { status: 'ok' });
      res.setHeader('retry-after', String(STARTING_RETRY_AFTER_SECONDS));
      json(res, 503, { error: { code: 'TWL_STARTING', message: 'This twl server is still starting and did not process the request; retry it in a moment.' } });
    },
  );
  return { server, serve: (h) => void (handler = h) };
}

/** Closes a listener's socket and its connections at once (nothing was served on it but 503s). */
const shut = (server: http.Server) =>
  new Promise<void>((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
    server.closeAllConnections();
  });

/**
 * Binds host:port for a server startHttpServer serves later ({ bound }), or rejects with the bind
 * error (TWL_INPUT_INVALID: the port in use, a privileged port, an address not of this machine)
 * before the caller has started anything. Not a check-then-bind: the socket stays bound.
 */
export async function bindHttpServer(options: { host: string; port: number; runtime: Runtime }): Promise<BoundHttp> {
  const listener = createListener(options.runtime);
  const { port } = await listenOn(listener.server, options, hostPortFlags(options));
  const bound: BoundHttp = { host: options.host, port, close: () => shut(listener.server) };
  listeners.set(bound, listener);
  return bound;
}

/**
 * `twl serve --http`: MCP Streamable HTTP at /mcp (a session per initialize, stateless
 * for requests without one), /health, /metrics, /mcp/status, and REST over the same ops at
 * /api/tools (with an OpenAPI document at /openapi.json). Host and Origin are checked on
 * every request against DNS rebinding; bodies are size-limited.
 */
export async function startHttpServer(options: HttpOptions): Promise<{ url: string; close(): Promise<void> }> {
  const [{ NodeStreamableHTTPServerTransport, toNodeHandler }, { SUPPORTED_PROTOCOL_VERSIONS, createMcpHandler, isInitializeRequest, isLegacyRequest }, { createMcpServer, servedTools, updateServedTools }, { changeFeedBus, grantedBus, listenFollowing }] = await Promise.all([
    import('@modelcontextprotocol/node'),
    import('@modelcontextprotocol/server'),
    import('../mcp/server.js'),
    import('../mcp/change-feed.js'),
  ]);
  const { runtime, catalog, version } = options;
  const bound = options.bound && listeners.get(options.bound);
  if (options.bound && !bound) throw new Error('startHttpServer: options.bound does not come from bindHttpServer.');
  // The upstreams' states; none when they cannot be opened (the store is down: /health says so already).
  const upstreamStatuses = () => options.upstreams?.().catch(() => []) ?? Promise.resolve([]);
  const cfg = runtime.config.http;
  const bodyLimit = cfg.bodyLimit;
  const allowed = new Set([...loopbackNames, ...cfg.allowedHosts, ...(options.allowedHosts ?? []), ...(options.host === '0.0.0.0' || options.host === '::' ? [] : [options.host])].map((h) => h.replace(/^\[|\]$/g, '').toLowerCase()));
  // A replica's 2025 session ids start with its name, so a load balancer can send a session back to
  // the one process that holds it (deploy/nginx.conf maps the prefix to the replica).
  const sessionPrefix = cfg.replica ? `${cfg.replica}.` : '';
  const sessions = new Map<string, { transport: Transport; server: McpServer; role: Role; namespaces?: string[]; close: () => Promise<void>; principal: string; lastSeen: number; open: number }>();
  /** Closes a session: its client must initialize again. */
  const endSession = (id: string) => {
    const session = sessions.get(id);
    if (!session) return;
    sessions.delete(id);
    status.sessionClosed(id);
    mcpSessions.set(sessions.size);
    void session.close().catch(() => undefined);
    void catalog.closeSession(id);
  };
  // Sessions without a request in flight (an open GET stream counts) for http.timeouts.sessionIdle are closed.
  const sessionIdleMs = cfg.timeouts.sessionIdle * 1000;
  const sessionSweep = setInterval(() => {
    const now = Date.now();
    for (const [id, s] of sessions) if (s.open === 0 && now - s.lastSeen > sessionIdleMs) endSession(id);
  }, Math.min(60_000, Math.max(500, sessionIdleMs / 4)));
  sessionSweep.unref();
  const limiter = await openRateLimiter({ redisUrl: runtime.config.redis.url, prefix: runtime.config.redis.prefix, logger: runtime.logger });
  const store = await runtime.store();
  collectProcessMetrics();
  (await import('../runtime/ticket-metrics.js')).watchTickets(store, runtime.logger);
  const jwt = cfg.oauth ? createJwtVerifier(cfg.oauth, runtime.logger) : undefined;
  let graceLogged = 0;
  const keys = new KeyVerifier(store, (key) => {
    if (Date.now() - graceLogged < 60_000) return;
    graceLogged = Date.now();
    runtime.logger.warn({ keyId: key.id }, 'the store is unreachable: accepting keys verified before the outage');
  });

  /** This server's URL as the client reached it (Host is checked before this is used; X-Forwarded-Proto behind a trusted proxy). */
  const publicBase = (req: http.IncomingMessage): string => {
    const proto = cfg.trustProxy && String(req.headers['x-forwarded-proto'] ?? '').split(',')[0]?.trim() === 'https' ? 'https' : 'http';
    return `${proto}://${req.headers.host}`;
  };
  /**
   * OAuth 2.0 protected-resource metadata (RFC 9728) for /mcp: the authorization server that issues
   * tokens for it, as the MCP authorization specification asks. Public, like the issuer's own metadata.
   */
  const resourceMetadata = (req: http.IncomingMessage) => ({
    resource: `${publicBase(req)}/mcp`,
    authorization_servers: [cfg.oauth!.issuer],
    bearer_methods_supported: ['header'],
    resource_name: 'twl',
    resource_documentation: `${publicBase(req)}/docs`,
  });

  /**
   * Who is calling: an API key's role, an OAuth access token's role (http.oauth), or (auth:
   * none) a local admin. Unauthenticated requests spend the address's bucket.
   */
  const authenticate = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<Caller | undefined> => {
    if (cfg.auth === 'none') return { principal: 'local', role: 'admin', name: null };
    const token = bearerToken(req.headers.authorization);
    const key = await keys.verify(token);
    const claims = key ? undefined : await jwt?.verify(token);
    const principal = key ? `key:${key.id}` : claims ? `jwt:${claims.subject}` : undefined;
    const bucket = principal ?? `ip:${clientAddress(req, cfg.trustProxy)}`;
    const spec = principal ? cfg.rateLimit.key : cfg.rateLimit.ip;
    const taken = await limiter.take(bucket, spec);
    if (!taken.allowed) {
      res.writeHead(429, { 'content-type': 'application/json', ...rateLimitHeaders(taken, spec) });
      res.end(JSON.stringify({ error: { code: 'TWL_RATE_LIMITED', message: `Too many requests; retry in ${taken.retryAfterSeconds} s.` } }));
      return undefined;
    }
    if (!principal) {
      // With OAuth, the challenge names the protected-resource metadata (RFC 9728) where MCP clients find the issuer.
      const challenge = cfg.oauth ? `Bearer realm="twl", resource_metadata="${publicBase(req)}${resourceMetadataPath}/mcp"` : 'Bearer realm="twl"';
      res.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': challenge });
      const what = jwt ? 'An API key or an OAuth access token' : 'An API key';
      res.end(JSON.stringify({ error: { code: 'TWL_AUTH_REQUIRED', message: `${what} is required: Authorization: Bearer <token>.`, actions: ['Create a key with `twl keys create --role viewer`.'] } }));
      return undefined;
    }
    if (key) return { principal, role: key.role, name: key.name ?? null, keyId: key.id, ...(key.namespaces ? { namespaces: key.namespaces } : {}) };
    return { principal, role: claims!.role, name: claims!.name, grantExpiresAt: claims!.expiresAt };
  };
  // Every tool of the catalog, whatever the role; each server shows the ones its caller's role may call.
  let served: ServedTool[] = await servedTools(catalog);
  let byName = new Map(served.map((s) => [s.tool.name, s]));
  const status = new StatusTracker();
  const started = status.started;
  // GET /api/events: the studio's change feed as Server-Sent Events.
  const events = eventStreams({ runtime, ...cfg.events });
  // 2026-07-28 subscriptions/listen streams hear of ticket and audit changes through this bus.
  const changes = changeFeedBus(runtime);
  /** An MCP server showing the tools a role may call. */
  const extras = options.extension?.mcpExtras?.bind(options.extension);
  /** The served tools a caller may list: its role's, within its key's namespaces. */
  const visibleTo = (role: Role, namespaces: string[] | undefined) => allowedFor(served, role, (s) => s.tool.minRole).filter((s) => namespaceAllows(s.tool, namespaces));
  // Built for the caller's grant: its tools, and what else it offers (resources, prompts, completions), follow it.
  const serverFor = (role: Role, era: Era, namespaces?: string[]) => createMcpServer(catalog, visibleTo(role, namespaces), runtime, version, era, { namespaces, ...(extras ? { extras } : {}) });
  // Per-request servers (2026-07-28, and 2025 without a session) are pooled by era and role: building
  // one (41 tools, resources, prompts) costs more than serving a call, and an instance is free again
  // once its request is answered. The caller's role comes from the request's authInfo.
  const pools = new Map<string, McpServer[]>();
  // An upstream's tool list changed (list_changed, a restart, an upstream added, removed or
  // quarantined): new servers show the new list, 2025 sessions get theirs updated (the SDK sends
  // them notifications/tools/list_changed) and 2026-07-28 listen streams hear of it on the bus.
  const stopWatching = catalog.onChanged(() => {
    void servedTools(catalog)
      .then((fresh) => {
        served = fresh;
        byName = new Map(served.map((s) => [s.tool.name, s]));
        pools.clear();
        for (const session of sessions.values()) updateServedTools(session.server, visibleTo(session.role, session.namespaces));
        changes.publish({ kind: 'tools_list_changed' });
      })
      .catch((err: unknown) => runtime.logger.warn({ err: (err as Error).message }, 'could not refresh the tool list'));
  });
  const pooledServer = (era: Era, role: Role, namespaces?: string[]): McpServer => {
    const key = `${era}:${role}:${namespaces?.join(',') ?? '*'}`;
    let pool = pools.get(key);
    if (!pool) pools.set(key, (pool = []));
    const reused = pool.pop();
    if (reused) return reused;
    const server = serverFor(role, era, namespaces);
    const closed = server.server.onclose;
    server.server.onclose = () => {
      closed?.();
      if (pool.length < MAX_POOLED) pool.push(server);
    };
    return server;
  };
  // One handler per grant: its subscriptions/listen streams hear the change feed through the grant
  // (grantedBus: nothing of what the key could not read), which the SDK's listen router cannot see.
  const perRequestHandlers = new Map<string, { handler: ReturnType<typeof createMcpHandler>; node: ReturnType<typeof toNodeHandler> }>();
  const perRequestFor = (namespaces: string[] | undefined) => {
    const key = namespaces?.join(',') ?? '*';
    let entry = perRequestHandlers.get(key);
    if (!entry) {
      const handler = createMcpHandler(({ era, authInfo }) => pooledServer(era, roleOf(authInfo), namespacesOf(authInfo)), {
        maxRequestBodySize: bodyLimit,
        bus: namespaces ? grantedBus(changes, runtime, namespaces) : changes,
        onerror: (err) => runtime.logger.debug({ err: err.message }, 'MCP request rejected'),
      });
      perRequestHandlers.set(key, (entry = { handler, node: toNodeHandler(handler, { maxRequestBodySize: bodyLimit }) }));
    }
    return entry.node;
  };

  const direct = options.extension?.callTool?.bind(options.extension);
  const serverInfo = { name: 'twl', title: 'TwisterLab', version };
  /**
   * A tools/call the extension answers itself (see HttpExtension.callTool), or false when the
   * request needs the SDK: a batch, a progress token, an envelope or headers that are not exactly
   * a plain call of this era (the SDK then answers, errors included).
   */
  const directCall = async (req: http.IncomingMessage, res: http.ServerResponse, body: unknown, caller: Caller, sessionId?: string): Promise<boolean> => {
    if (!direct || !body || typeof body !== 'object' || Array.isArray(body)) return false;
    const m = body as { method?: unknown; id?: unknown; params?: { name?: unknown; arguments?: unknown; _meta?: Record<string, unknown> } };
    if (m.method !== 'tools/call' || (typeof m.id !== 'string' && typeof m.id !== 'number') || typeof m.params?.name !== 'string') return false;
    const args = m.params.arguments ?? {};
    if (typeof args !== 'object' || args === null || Array.isArray(args)) return false;
    const meta = m.params._meta;
    if (meta !== undefined && (typeof meta !== 'object' || meta === null || 'progressToken' in meta)) return false;
    const revision = meta?.[PROTOCOL_VERSION_KEY];
    const modern = revision !== undefined;
    if (modern) {
      // A 2026-07-28 request outside a session, its headers naming exactly this call.
      if (sessionId || revision !== MODERN_REVISION || req.headers['mcp-protocol-version'] !== MODERN_REVISION || req.headers['mcp-method'] !== 'tools/call' || req.headers['mcp-name'] !== m.params.name) return false;
    } else {
      // A 2025 request names a 2025 revision, if any (the SDK answers a wrong one).
      const named = req.headers['mcp-protocol-version'];
      if (named !== undefined && (named === MODERN_REVISION || !SUPPORTED_PROTOCOL_VERSIONS.includes(named as string))) return false;
    }
    if (!acceptance(req.headers.accept).json) return false;
    const controller = new AbortController();
    res.on('close', () => !res.writableFinished && controller.abort());
    const result = await direct({ name: m.params.name, arguments: args as Record<string, unknown>, caller, sessionId, signal: controller.signal });
    if (result === undefined) return false;
    json(res, 200, { jsonrpc: '2.0', id: m.id, result: modern ? { ...result, resultType: 'complete', _meta: { 'io.modelcontextprotocol/serverInfo': serverInfo } } : result });
    return true;
  };

  const mcp = async (req: http.IncomingMessage, res: http.ServerResponse, caller: Caller) => {
    // Every request carries its caller, so tools record who called them (sessions included).
    (req as http.IncomingMessage & { auth?: AuthInfo }).auth = authInfoOf(caller);
    const sessionId = req.headers['mcp-session-id'] as string | undefined;
    let body: unknown;
    if (req.method === 'POST') {
      const raw = await readBody(req, bodyLimit);
      try {
        body = parseJsonBody(raw);
      } catch (err) {
        if (!(err instanceof HttpError)) throw err;
        return jsonRpcError(res, err.status, err.rpcCode, `${err.rpcCode === -32700 ? 'Parse error' : 'Invalid Request'}: ${err.message}`);
      }
      const messages = Array.isArray(body) ? body : [body];
      if (!messages.length || messages.some((m) => !m || typeof m !== 'object' || (m as { jsonrpc?: unknown }).jsonrpc !== '2.0')) {
        return jsonRpcError(res, 400, -32600, 'Invalid Request: expected JSON-RPC 2.0 messages.');
      }
      // A tool beyond the caller's role or namespaces is refused here, before any server sees it.
      for (const m of messages as Array<{ method?: string; params?: { name?: string; arguments?: unknown } }>) {
        const tool = m.method === 'tools/call' ? byName.get(String(m.params?.name))?.tool : undefined;
        // A tool its quarantined upstream no longer lists: the reason and the fix, rather than "not found".
        const held = m.method === 'tools/call' && !tool ? await catalog.quarantineOf?.(String(m.params?.name), caller.namespaces) : undefined;
        if (held) {
          await catalog.refused(String(m.params?.name), m.params?.arguments, { face: 'mcp', actor: `mcp:${caller.principal}`, role: caller.role, namespaces: caller.namespaces }, held.code);
          return jsonRpcError(res, 403, -32003, held.message);
        }
        // A limited key: a tool outside its namespaces and one that exists nowhere get the same answer (the audit row says which).
        if (m.method === 'tools/call' && caller.namespaces && !(tool && namespaceAllows(tool, caller.namespaces))) {
          const name = String(m.params?.name);
          await catalog.refused(name, m.params?.arguments, { face: 'mcp', actor: `mcp:${caller.principal}`, role: caller.role, namespaces: caller.namespaces }, 'TWL_TOOL_UNKNOWN');
          return json(res, 200, { jsonrpc: '2.0', id: (m as { id?: unknown }).id ?? null, error: { code: -32602, message: unseenTool(name).message } });
        }
        if (tool && !roleAllows(tool.minRole, caller.role)) {
          await catalog.refused(tool.name, m.params?.arguments, { face: 'mcp', actor: `mcp:${caller.principal}`, role: caller.role }, 'TWL_ROLE_DENIED');
          return jsonRpcError(res, 403, -32003, roleRefusal(tool.name, tool.minRole, caller.role));
        }
      }
    }
    // MCP clients name both application/json and text/event-stream, as the SDK's transports demand;
    // curl sends */*, other tools nothing. A request that admits JSON without naming the stream gets
    // a plain JSON answer, one that admits the stream (GET) gets it.
    const accepts = acceptance(req.headers.accept);
    const jsonOnly = req.method === 'POST' && accepts.json && !accepts.sseNamed;
    if (req.method === 'POST' && (accepts.json || accepts.sse)) req.headers.accept = 'application/json, text/event-stream';
    else if (req.method === 'GET' && accepts.sse) req.headers.accept = 'text/event-stream';
    if (sessionId) {
      const session = sessions.get(sessionId);
      if (!session) return jsonRpcError(res, 404, -32001, 'Session not found: it expired or the server restarted; initialize again.');
      status.sessionSeen(sessionId);
      if (session.principal !== caller.principal) return jsonRpcError(res, 403, -32003, 'This session belongs to another caller.');
      session.open++;
      res.on('close', () => {
        session.open--;
        session.lastSeen = Date.now();
      });
      if (req.method === 'POST' && (await directCall(req, res, body, caller, sessionId))) return;
      return session.transport.handleRequest(req, res, body);
    }
    if (req.method !== 'POST') return jsonRpcError(res, 400, -32000, 'Bad Request: no Mcp-Session-Id header.');
    if (await directCall(req, res, body, caller)) return;
    if (isInitializeRequest(body)) {
      // A 2025 session: the server and its transport live until the client deletes it or disconnects for good.
      const server = serverFor(caller.role, 'legacy', caller.namespaces);
      const transport: Transport = new NodeStreamableHTTPServerTransport({
        sessionIdGenerator: () => `${sessionPrefix}${randomUUID()}`,
        enableJsonResponse: jsonOnly,
        onsessioninitialized: (id) => {
          sessions.set(id, { transport, server, role: caller.role, namespaces: caller.namespaces, close: () => server.close(), principal: caller.principal, lastSeen: Date.now(), open: 0 });
          status.sessionOpened(id);
          mcpSessions.set(sessions.size);
        },
        onsessionclosed: endSession,
      });
      await server.connect(transport);
      return transport.handleRequest(req, res, body);
    }
    // Everything else without a session: the 2026-07-28 revision (a _meta envelope per request),
    // or a 2025 request served statelessly; the SDK tells them apart.
    if (jsonOnly && (await isLegacyRequest(classifiable(req), body))) {
      // The SDK's stateless fallback always streams: serve this one with a JSON-answering transport.
      const server = pooledServer('legacy', caller.role, caller.namespaces);
      const transport: Transport = new NodeStreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
      res.on('close', () => void transport.close().catch(() => undefined));
      await server.connect(transport);
      return transport.handleRequest(req, res, body);
    }
    // A listen stream is acknowledged once the change feed follows, so a change made after the ack is told.
    return listenFollowing(changes, body, () => perRequestFor(caller.namespaces)(req, res, body));
  };

  const rest = async (req: http.IncomingMessage, res: http.ServerResponse, name: string | undefined, caller: Caller) => {
    if (!name) {
      if (req.method !== 'GET') throw new HttpError(405, 'Use GET /api/tools, or POST /api/tools/{name}.');
      const tools = await catalog.list({ role: caller.role, namespaces: caller.namespaces });
      return json(res, 200, { tools: tools.map(({ needsApproval: _, ...tool }) => tool) });
    }
    if (req.method !== 'POST') throw new HttpError(405, `Use POST /api/tools/${name}.`);
    // Only the tools within the caller's namespaces: for a limited key, a tool outside them is no tool at all.
    const tool = await catalog.get(name, { namespaces: caller.namespaces });
    const held = tool ? undefined : await catalog.quarantineOf?.(name, caller.namespaces);
    if (held) {
      await catalog.refused(name, undefined, { face: 'rest', actor: `rest:${caller.principal}`, role: caller.role, namespaces: caller.namespaces }, held.code);
      return json(res, 403, { error: errorBody(held) });
    }
    if (!tool && caller.namespaces) {
      // Answered as for a tool that exists nowhere, so a key learns nothing of other namespaces; the audit row says why.
      await catalog.refused(name, undefined, { face: 'rest', actor: `rest:${caller.principal}`, role: caller.role, namespaces: caller.namespaces }, 'TWL_TOOL_UNKNOWN');
      return json(res, 404, { error: errorBody(unseenTool(name)) });
    }
    if (!tool) throw new HttpError(404, `No tool named ${name}; GET /api/tools lists them.`);
    const actor = `rest:${caller.principal}${caller.name ? ` (${caller.name})` : ''}`;
    if (!roleAllows(tool.minRole, caller.role)) {
      await catalog.refused(tool.name, undefined, { face: 'rest', actor, role: caller.role }, 'TWL_ROLE_DENIED');
      throw new HttpError(403, roleRefusal(tool.name, tool.minRole, caller.role));
    }
    const raw = await readBody(req, bodyLimit);
    const input = raw.trim() ? parseJsonBody(raw) : {};
    const controller = new AbortController();
    res.on('close', () => !res.writableFinished && controller.abort());
    try {
      const result = await catalog.call(tool.name, input, { face: 'rest', actor, role: caller.role, namespaces: caller.namespaces, keyId: caller.keyId, grantExpiresAt: caller.grantExpiresAt, signal: controller.signal });
      if (tool.source === 'twl') return json(res, 200, { result: result.structured });
      // An upstream's answer: its structured result when it gave one, and its content blocks; a tool error is a 422.
      if (result.isError) return json(res, 422, { error: { code: 'TWL_TOOL_ERROR', message: `${tool.name} answered with an error.` }, content: result.content });
      return json(res, 200, { result: result.structured ?? null, content: result.content });
    } catch (err) {
      return json(res, statusOf(err), { error: errorBody(err) });
    }
  };

  let closing = false;
  const timeouts = cfg.timeouts;
  const listener = bound ?? createListener(runtime);
  const server = listener.server;
  const handle = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    if (closing) res.setHeader('connection', 'close');
    // Answered before its body was read (401, 403, 404, 413, 429…): `Connection: close`, and a lingering
    // close (see lingerAfterRefusal). (Every answer, implicit ones included, goes through writeHead.)
    const hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
    const writeHead = res.writeHead;
    res.writeHead = function (this: http.ServerResponse, ...args: unknown[]) {
      if (hasBody && !req.complete && this.shouldKeepAlive !== false) {
        this.shouldKeepAlive = false;
        req.resume();
        lingerAfterRefusal(req, timeouts.request * 1000);
      }
      return (writeHead as (...a: unknown[]) => http.ServerResponse).apply(this, args);
    } as typeof res.writeHead;
    // Origin-form targets only (`/path?query`): an absolute-form target (`http://evil.example/…`) would name another host than the Host header.
    const target = req.url ?? '/';
    const url = new URL(`http://twl${target.startsWith('/') ? target : '/'}`);
    const route = url.pathname.startsWith('/api/tools/') ? '/api/tools/{name}' : url.pathname;
    const stop = httpRequestDuration.startTimer({ method: req.method ?? 'GET', route });
    const done = status.begin();
    res.on('close', () => {
      stop({ status: String(res.statusCode) });
      done(res.writableFinished && res.statusCode < 500);
    });
    // Draining (SIGTERM): the listener is closed, calls in flight are being answered, and a request
    // that still arrives on an open connection is refused unprocessed, so a client or load balancer
    // may safely send it to another replica. Liveness stays true: the process is healthy, just leaving.
    if (closing && url.pathname !== '/health/live') {
      res.setHeader('retry-after', String(DRAIN_RETRY_AFTER_SECONDS));
      return json(res, 503, { error: { code: 'TWL_DRAINING', message: 'This twl replica is shutting down and did not process the request; retry it (another replica answers).' } });
    }
    try {
      // DNS rebinding: a page on another site must not reach this server through the browser.
      if (!target.startsWith('/')) throw new HttpError(400, 'The request target must be a path (origin-form), not an absolute URL.');
      if (hostHeaderCount(req) !== 1) throw new HttpError(400, 'The request must carry exactly one Host header.');
      const shown = (value: string) => JSON.stringify(value.slice(0, 100));
      const host = parseHost(req.headers.host);
      if (host === undefined) throw new HttpError(400, `Host ${shown(req.headers.host ?? '')} is not a host name with an optional port.`);
      if (!allowed.has(host)) throw new HttpError(403, `Host ${shown(req.headers.host ?? '')} is not allowed; add it to http.allowedHosts if this server is reached under that name.`);
      const origin = req.headers.origin;
      if (origin !== undefined && !allowed.has(parseOrigin(origin) ?? '')) throw new HttpError(403, `Origin ${shown(origin)} is not allowed.`);
      if (url.pathname === '/health/live') return json(res, 200, { status: 'ok' });
      // The index and the API reference page are public and static; what they show needs a key.
      if (url.pathname === '/') return json(res, 200, index(version, cfg.auth));
      if (url.pathname === '/docs' || url.pathname.startsWith('/docs/')) {
        if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, `Use GET ${url.pathname}.`);
        if (await serveDocs(url.pathname, res)) return;
        throw new HttpError(404, `Nothing at ${url.pathname}. See /docs.`);
      }
      if (cfg.oauth && (url.pathname === resourceMetadataPath || url.pathname === `${resourceMetadataPath}/mcp`)) return json(res, 200, resourceMetadata(req));
      let caller: Caller | undefined;
      try {
        caller = await authenticate(req, res);
      } catch (err) {
        // Keys live in the store: while it is unreachable nobody can be authenticated, but /health
        // must still say degraded (without details, to an unauthenticated caller).
        if (url.pathname !== '/health' || !isTwlError(err) || err.code !== 'TWL_STORE_UNAVAILABLE') throw err;
        return json(res, 200, { status: 'degraded', checkedAt: new Date().toISOString(), detail: "twl's store is unreachable, so API keys cannot be checked; the full report needs it back.", uptimeSeconds: Math.round((Date.now() - started) / 1000) });
      }
      if (!caller) return;
      if (url.pathname === '/mcp') return await mcp(req, res, caller);
      if (url.pathname === '/health' && options.extension?.health) {
        const report = await options.extension.health();
        return json(res, report.status === 'down' ? 503 : 200, { ...report, checkedAt: new Date().toISOString(), uptimeSeconds: Math.round((Date.now() - started) / 1000) });
      }
      if (url.pathname === '/health') {
        const op = await catalog.op('monitoring_health_check');
        const report = op ? ((await invoke(op, runtime, {})) as { status: string }) : { status: 'ok' };
        const limiterError = (limiter as { lastError?: unknown }).lastError;
        // An upstream refusing calls (crash-loop, breaker open) degrades twl, never fails it: twl's own tools still answer.
        const upstreams = (await upstreamStatuses()).map(upstreamHealthEntry);
        const upstreamDown = upstreams.some((u) => u.status === 'down');
        const dependencies = [...((report as { dependencies?: unknown[] }).dependencies ?? []), ...upstreams];
        const status = (limiterError || upstreamDown) && report.status === 'ok' ? 'degraded' : report.status;
        return json(res, status === 'down' ? 503 : 200, { ...report, status, dependencies, ...(limiterError ? { rateLimiter: `Redis failed; limits are per process: ${String((limiterError as Error).message ?? limiterError)}` } : {}), uptimeSeconds: Math.round((Date.now() - started) / 1000) });
      }
      if (url.pathname === '/metrics') {
        res.writeHead(200, { 'content-type': registry.contentType });
        return res.end(await registry.metrics());
      }
      if (url.pathname === '/mcp/status') {
        const upstreams = (await upstreamStatuses()).map(upstreamSection);
        return json(res, 200, { ...(await status.report(runtime, version, options.extension?.status)), tools: served.length, ...(upstreams.length ? { upstreams } : {}) });
      }
      if (url.pathname === '/openapi.json') return json(res, 200, openApiDocument(await catalog.list({ role: caller.role, namespaces: caller.namespaces }), version));
      if (url.pathname === '/api/events') {
        try {
          return await events.handle(req, res, url, caller);
        } catch (err) {
          throw err instanceof EventsRequestError ? new HttpError(err.status, err.message) : err;
        }
      }
      if (url.pathname === '/api/tools' || route === '/api/tools/{name}') return await rest(req, res, route === '/api/tools' ? undefined : toolName(url.pathname), caller);
      if (options.extension?.route) {
        const ctx: RouteContext = {
          url,
          caller,
          body: async () => {
            const raw = await readBody(req, bodyLimit);
            return raw.trim() ? parseJsonBody(raw) : undefined;
          },
          json: (code, body) => json(res, code, body),
          fail: (err, extra = {}) => (err instanceof HttpError ? json(res, err.status, { error: { code: `HTTP_${err.status}`, message: err.message }, ...extra }) : json(res, statusOf(err), { error: errorBody(err), ...extra })),
        };
        if (await options.extension.route(req, res, ctx)) return;
      }
      throw new HttpError(404, `Nothing at ${url.pathname}. See / for what this server answers.`);
    } catch (err) {
      if (res.headersSent) return void res.end();
      if (err instanceof HttpError) return json(res, err.status, { error: { code: `HTTP_${err.status}`, message: err.message } });
      runtime.logger.error({ err: (err as Error).message, route }, 'request failed');
      return json(res, statusOf(err), { error: errorBody(err) });
    }
  };
  listener.serve(handle);
  /** What the server holds besides its socket: ended on close, and when it cannot bind (nothing half-started stays). */
  const release = async () => {
    clearInterval(sessionSweep);
    await Promise.all([...sessions.values()].map((s) => s.close().catch(() => undefined)));
    sessions.clear();
    await Promise.all([...perRequestHandlers.values()].map(({ handler }) => handler.close()));
    stopWatching();
    changes.close();
    await limiter.close();
  };
  let port = options.bound?.port ?? 0;
  if (!options.bound) {
    try {
      ({ port } = await listenOn(server, options, hostPortFlags(options)));
    } catch (err) {
      await release();
      throw err;
    }
  }
  return {
    url: `http://${authority({ host: options.host, port })}`,
    close: async () => {
      // Stop accepting; connections close as soon as their request in flight is answered.
      closing = true;
      // Event streams never end by themselves: each is told the server drains, then closed.
      events.closeAll();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        const sweep = setInterval(() => server.closeIdleConnections(), 100);
        server.once('close', () => clearInterval(sweep));
      });
      await release();
    },
  };
}
