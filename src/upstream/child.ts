import { Client, SdkError, SdkErrorCode, StreamableHTTPClientTransport, type CallToolResult, type JsonSchemaValidator, type jsonSchemaValidator } from '@modelcontextprotocol/client';
import { z } from 'zod';
import type { Logger } from '../runtime/logger.js';
import { redactText } from '../runtime/redact.js';
import type { UpstreamConfig } from './config.js';
import type { SecretBox } from './secrets.js';
import { GroupStdioTransport } from './stdio-transport.js';
import type { UpstreamRequest } from './types.js';

/** The shape of a tools/list page, loosely: the tools themselves are checked one by one. */
const listingSchema = z.object({ tools: z.array(z.unknown()).max(100_000), nextCursor: z.string().max(4096).optional() }).loose();

/** What every child gets from twl's environment (nothing secret; configured `env` adds to it). */
const inheritedEnv = ['PATH', 'HOME', 'LANG', 'LC_ALL', 'TZ', 'TERM', 'USER', 'LOGNAME', 'SHELL', 'TMPDIR'];

/**
 * The SDK would compile the upstream's outputSchemas with ajv (a hostile `pattern` run on the
 * backtracking engine) to check its answers: twl hands the answers on as they are, and the
 * downstream client checks them against the schema it is shown, so nothing is compiled here.
 */
const passThroughValidator: jsonSchemaValidator = {
  getValidator<T>(): JsonSchemaValidator<T> {
    return (input) => ({ valid: true, data: input as T, errorMessage: undefined });
  },
};

export interface ChildOptions {
  config: UpstreamConfig;
  secrets: SecretBox;
  env: NodeJS.ProcessEnv;
  logger: Logger;
  sessionKey?: string;
  /** The upstream said its tools changed. */
  onToolsChanged: () => void;
  /** isolated sharing: answers the upstream's sampling/elicitation/roots requests. */
  onRequest?: (request: UpstreamRequest) => Promise<Record<string, unknown>>;
}

/**
 * One connection to an upstream: a stdio child process (its own process group) or an HTTP
 * session, with an MCP client on it. `closed` resolves with the reason once it has ended (child
 * exit, oversized message, stop); the client then fails every call in flight at once.
 */
export class Child {
  readonly client: Client;
  readonly closed: Promise<string>;
  inFlight = 0;
  lastUsed = Date.now();
  lastPinged = 0;
  /** Whether its death was already counted by the breaker (one death is one failure, however many calls it failed). */
  deathCounted = false;
  ready = false;
  onRequest?: ChildOptions['onRequest'];
  private transport?: GroupStdioTransport | StreamableHTTPClientTransport;
  private secretValues: string[] = [];
  private resolveClosed!: (reason: string) => void;
  private ended = false;

  constructor(private readonly options: ChildOptions) {
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
    this.onRequest = options.onRequest;
    const isolated = options.config.sharing === 'isolated';
    this.client = new Client(
      { name: 'twl', version: '1' },
      // Sampling, elicitation and roots reach a downstream client only when one child belongs to
      // one downstream session (isolated); shared children would mix sessions up.
      { capabilities: isolated ? { sampling: {}, elicitation: {}, roots: {} } : {}, listMaxPages: 32, jsonSchemaValidator: passThroughValidator },
    );
    this.client.setNotificationHandler('notifications/tools/list_changed', () => options.onToolsChanged());
    if (isolated) {
      for (const method of ['sampling/createMessage', 'elicitation/create', 'roots/list'] as const) {
        this.client.setRequestHandler(method, async (request, ctx) => {
          if (!this.onRequest) throw new Error(`${method} is not available: no downstream client is attached to this session`);
          const signal = (ctx as { mcpReq?: { signal?: AbortSignal } }).mcpReq?.signal ?? new AbortController().signal;
          return (await this.onRequest({ method, params: request.params as Record<string, unknown> | undefined, signal })) as never;
        });
      }
    }
    this.client.onerror = (err) => options.logger.debug({ upstream: options.config.name, err: this.scrub(err.message) }, 'upstream protocol error');
  }

  get pid(): number | undefined {
    return this.transport instanceof GroupStdioTransport ? this.transport.pid : undefined;
  }

  /** The reason the connection ended, if it has. */
  get endReason(): string | undefined {
    return this.ended ? (this.transport instanceof GroupStdioTransport ? this.transport.closeReason : undefined) ?? 'the connection closed' : undefined;
  }

  /** Hides the configured secret values (and anything secret-shaped) in text from the upstream. */
  scrub(text: string): string {
    let out = text;
    for (const secret of this.secretValues) out = out.split(secret).join('***');
    return redactText(out);
  }

  /** Spawns or connects, and runs the MCP handshake within `startTimeout`. */
  async start(): Promise<void> {
    const { config, secrets, env, logger } = this.options;
    const resolve = (values: Record<string, string>) => {
      const out: Record<string, string> = {};
      for (const [key, value] of Object.entries(values)) {
        out[key] = secrets.resolve(value, env);
        // Values that came from a reference or an envelope are secrets; literal ones may be too.
        if (out[key].length >= 4) this.secretValues.push(out[key]);
      }
      return out;
    };
    if (config.transport === 'stdio') {
      const base: Record<string, string> = {};
      for (const name of inheritedEnv) if (env[name] !== undefined) base[name] = env[name]!;
      this.transport = new GroupStdioTransport({
        command: config.command!,
        args: config.args,
        env: { ...base, ...resolve(config.env) },
        cwd: config.cwd,
        killGraceMs: config.killGrace,
        maxMessageBytes: config.maxMessageBytes,
        onStderr: (line) => logger.debug({ upstream: config.name, pid: this.pid, stderr: this.scrub(line) }, 'upstream stderr'),
      });
    } else {
      this.transport = new StreamableHTTPClientTransport(new URL(config.url!), { requestInit: { headers: resolve(config.headers) } });
    }
    const transport = this.transport;
    const previousClose = () => {
      if (this.ended) return;
      this.ended = true;
      this.ready = false;
      this.resolveClosed(this.endReason!);
    };
    this.client.onclose = previousClose;
    try {
      await this.client.connect(transport, { timeout: config.startTimeout });
      this.ready = true;
      this.lastUsed = Date.now();
    } catch (err) {
      const reason = transport instanceof GroupStdioTransport && transport.closeReason ? transport.closeReason : this.scrub((err as Error).message);
      await this.stop(reason);
      throw new Error(reason, { cause: err });
    }
  }

  /**
   * The raw listing, every page (at most `maxPages`, and stopping past `maxTools`): each tool is
   * checked one by one afterwards (src/upstream/tools.ts), so one odd tool is dropped instead of
   * the SDK refusing the whole listing.
   */
  async listTools(options: { signal?: AbortSignal; timeout: number; maxTools: number; maxPages?: number }): Promise<unknown[]> {
    const tools: unknown[] = [];
    let cursor: string | undefined;
    const maxPages = options.maxPages ?? 32;
    this.inFlight++;
    try {
      for (let page = 0; page < maxPages; page++) {
        const result = await this.client.request({ method: 'tools/list', params: cursor ? { cursor } : {} }, listingSchema, { signal: options.signal, timeout: options.timeout });
        tools.push(...result.tools);
        cursor = result.nextCursor;
        if (!cursor || tools.length > options.maxTools) return tools;
      }
    } finally {
      this.inFlight--;
      this.lastUsed = Date.now();
    }
    throw new Error(`tools/list still had more pages after ${maxPages}: refusing an endless listing`);
  }

  async callTool(
    name: string,
    args: Record<string, unknown>,
    options: { signal?: AbortSignal; timeout: number; onprogress?: (p: { progress: number; total?: number; message?: string }) => void },
  ): Promise<CallToolResult> {
    this.inFlight++;
    this.lastUsed = Date.now();
    try {
      return (await this.client.callTool(
        { name, arguments: args },
        { signal: options.signal, timeout: options.timeout, maxTotalTimeout: options.timeout, onprogress: options.onprogress, resetTimeoutOnProgress: false },
      )) as CallToolResult;
    } finally {
      this.inFlight--;
      this.lastUsed = Date.now();
    }
  }

  async ping(timeout: number): Promise<void> {
    await this.client.ping({ timeout });
  }

  /** Ends the connection (process group SIGTERM, SIGKILL after the grace period, or at once when `graceMs` is 0). */
  async stop(reason = 'was stopped', graceMs?: number): Promise<void> {
    const transport = this.transport;
    if (transport instanceof GroupStdioTransport) await transport.stop(reason, graceMs);
    else if (transport) {
      // An HTTP session is ended on the server too (DELETE), not left to expire; best effort, briefly.
      if (this.ready) await Promise.race([transport.terminateSession().catch(() => {}), new Promise((r) => setTimeout(r, 1000).unref())]);
      await transport.close().catch(() => {});
    }
    await this.client.close().catch(() => {});
    if (!this.ended) {
      this.ended = true;
      this.ready = false;
      this.resolveClosed(reason);
    }
  }

  /** Whether an error means the connection failed (not the tool): those count for restarts and the breaker. */
  static isConnectionError(err: unknown): boolean {
    return err instanceof SdkError && [SdkErrorCode.ConnectionClosed, SdkErrorCode.NotConnected, SdkErrorCode.SendFailed].includes(err.code);
  }
}
