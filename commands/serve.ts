import type { JSONRPCMessage, McpServer } from '@modelcontextprotocol/server';
import { Flags } from '@oclif/core';
import { errorBody } from '../src/cli/base.js';
import { CatalogCommand } from '../src/cli/catalog-command.js';
import { TwlError } from '../src/runtime/errors.js';

/** How often the store's upstream tables are checked for changes made by other processes (TWL_UPSTREAM_WATCH_MS overrides, for tests). */
const watchIntervalMs = () => {
  const ms = Number(process.env.TWL_UPSTREAM_WATCH_MS);
  return Number.isInteger(ms) && ms >= 100 ? ms : 2000;
};

/** How long in-flight calls get to finish once the server stops accepting. */
const SHUTDOWN_DEADLINE_MS = 10_000;

export default class Serve extends CatalogCommand<void> {
  static override summary = 'Serve every twl operation as an MCP tool (stdio, HTTP, or both).';
  static override description =
    'With --stdio, speaks MCP on stdin/stdout for IDE clients (Claude Code, Cursor, VS Code): stdout carries only the protocol, logs go to stderr.\n' +
    'Both transports answer the 2025 protocol revisions (initialize) and 2026-07-28 (no handshake: a _meta envelope on each request, server/discover).\n' +
    'With --http, serves MCP Streamable HTTP at /mcp (2025: a session per initialize, requests without a session served statelessly; 2026-07-28: every request on its own), ' +
    '/health, /metrics (Prometheus), /mcp/status, and REST over the same ops at /api/tools with an OpenAPI document at /openapi.json. ' +
    'It binds to loopback by default and checks Host and Origin on every request. Every route but /health/live needs an API key (`twl keys create`) or, with http.oauth set, an OAuth access token; ' +
    'the caller\'s role decides which tools it sees and may call, and per-caller and per-address token buckets answer 429 with Retry-After.\n' +
    'While it runs it hosts the embedded store on a socket in the data directory, so other twl commands keep working beside it, and once a minute deletes what is past its retention (store.eventRetention, store.runRetention, store.auditRetention: see `twl db prune`), taking turns with the other twl processes of the store.\n' +
    'With --worker it also runs tasks from the job queue, as `twl worker` does (4 at once, queue default).';
  static override examples = [
    '<%= config.bin %> <%= command.id %> --stdio',
    '<%= config.bin %> <%= command.id %> --http --port 30080',
    '<%= config.bin %> <%= command.id %> --http --host 0.0.0.0 --allowed-host twl.internal.example',
    '<%= config.bin %> <%= command.id %> --http --worker',
  ];
  static override enableJsonFlag = false;
  static override flags = {
    stdio: Flags.boolean({ description: 'Speak MCP over stdin/stdout.' }),
    http: Flags.boolean({ description: 'Serve MCP and REST over HTTP.' }),
    host: Flags.string({ description: 'Address to bind with --http.', default: '127.0.0.1' }),
    port: Flags.integer({ description: 'Port with --http (0: any free port).', default: 30080, min: 0, max: 65_535 }),
    worker: Flags.boolean({ description: 'Also run a task worker in this process (as `twl worker` does).' }),
    'allowed-host': Flags.string({ description: 'A Host header to accept besides loopback names (repeat), for access through a DNS name.', multiple: true }),
  };

  protected override runtimeOptions() {
    // One catalog for the process (CatalogCommand): every transport and every op (ctx.tools) uses it.
    return { ...super.runtimeOptions(), role: 'twl serve', host: true, actor: 'mcp', face: 'mcp' as const };
  }

  async run(): Promise<void> {
    const { flags } = await this.parse(Serve);
    if (!flags.stdio && !flags.http) throw new TwlError('TWL_INPUT_INVALID', 'Choose a transport: --stdio, --http, or both.', { actions: ['Run `twl serve --stdio` from your MCP client configuration, or `twl serve --http` for remote clients.'] });
    const runtime = await this.runtime();
    // Hold the embedded store from the start, so other processes share it through the socket.
    const store = await runtime.store();
    // Its retention: with no worker running, nothing else would prune it.
    const { keepPruning } = await import('../src/store/retention.js');
    const stopPruning = keepPruning(store, runtime.config.store, runtime.logger, 'twl serve');
    const { createMcpServer, servedTools, updateServedTools } = await import('../src/mcp/server.js');
    const catalog = await this.catalog();
    // `twl upstream add|remove|accept` from another shell takes effect here without a restart.
    const stopWatch = catalog.watchStore(watchIntervalMs());
    // Local clients (stdio) may call every tool; listing now starts the upstreams and reports what was left out.
    const everything = await servedTools(catalog);
    for (const p of catalog.problems()) this.logToStderr(`Warning: upstream ${p.upstream}${p.tool ? ` tool ${p.tool}` : ''}: ${p.problem}`);
    const closers: Array<() => Promise<void>> = [stopPruning];
    // stdio: the client closing stdin ends the server, once the calls in flight are answered.
    // A call of a tool whose upstream is quarantined (no longer listed) is answered with why and what to run.
    let known = new Set(everything.map((s) => s.tool.name));
    const quarantined = (message: JSONRPCMessage) => {
      const m = message as { id?: string | number; method?: string; params?: { name?: unknown } };
      if (m.method !== 'tools/call' || m.id === undefined || typeof m.params?.name !== 'string' || known.has(m.params.name)) return undefined;
      const name = m.params.name;
      return catalog.quarantineOf(name).then((err) => (err ? ({ jsonrpc: '2.0' as const, id: m.id!, result: { isError: true, content: [{ type: 'text', text: JSON.stringify({ error: errorBody(err) }) }] } } as JSONRPCMessage) : undefined));
    };
    const stdio = flags.stdio ? (await import('../src/mcp/stdio.js')).drainingStdio(SHUTDOWN_DEADLINE_MS, process.stdin, process.stdout, quarantined) : undefined;
    const stopped = new Promise<string>((resolve) => {
      // `on`, not `once`: the lock library's exit hook re-sends a signal nobody else listens to,
      // and a `once` listener is gone by the time it looks, so the process would die mid-shutdown.
      process.on('SIGINT', () => resolve('interrupted'));
      process.on('SIGTERM', () => resolve('terminated'));
      void stdio?.ended.then(resolve);
    });
    if (flags.http) {
      const exposed = !['127.0.0.1', '::1', 'localhost'].includes(flags.host);
      if (exposed && runtime.config.http.auth === 'none') this.logToStderr(`Warning: binding ${flags.host} with http.auth "none" lets anyone who reaches it call every tool as admin.`);
      const { startHttpServer } = await import('../src/http/server.js');
      const http = await startHttpServer({ host: flags.host, port: flags.port, catalog, runtime, version: this.config.version, allowedHosts: flags['allowed-host'], upstreams: () => catalog.upstreamStatuses() }).catch(async (err: unknown) => {
        // The address cannot be bound (in use, privileged, not of this machine): nothing started stays
        // behind; the runtime (store host, upstream children) is closed by the base command.
        stopWatch();
        await Promise.all(closers.map((close) => close().catch(() => undefined)));
        throw err;
      });
      closers.push(http.close);
      this.logToStderr(`twl serves MCP at ${http.url}/mcp (health ${http.url}/health, REST ${http.url}/api/tools)`);
      runtime.logger.info({ url: http.url }, 'twl HTTP server ready');
    }
    if (stdio) {
      // The opening message decides the era: initialize pins a 2025 session, a request with a
      // _meta envelope (or server/discover) serves 2026-07-28; the same factory backs both.
      const { serveStdio } = await import('@modelcontextprotocol/server/stdio');
      let tools = everything;
      // The client's server learns of a changed list too: notifications/tools/list_changed.
      const live = new Set<McpServer>();
      catalog.onChanged(
        () =>
          void servedTools(catalog)
            .then((fresh) => {
              tools = fresh;
              known = new Set(fresh.map((s) => s.tool.name));
              for (const server of live) updateServedTools(server, fresh);
            })
            .catch((err: unknown) => runtime.logger.warn({ err: (err as Error).message }, 'could not refresh the tool list')),
      );
      const handle = serveStdio(
        ({ era }) => {
          const server = createMcpServer(catalog, tools, runtime, this.config.version, era);
          live.add(server);
          const closed = server.server.onclose;
          server.server.onclose = () => {
            closed?.();
            live.delete(server);
          };
          return server;
        },
        {
        transport: stdio.transport,
        onerror: (err) => runtime.logger.debug({ err: err.message }, 'MCP stdio error'),
        },
      );
      closers.push(() => handle.close());
      runtime.logger.info({ transport: 'stdio' }, 'twl MCP server ready');
    }
    if (flags.worker) {
      const { TaskWorker } = await import('../src/studio/worker.js');
      const worker = await TaskWorker.start(runtime, { concurrency: 4, queues: ['default'] });
      // Before the servers close: running tasks get the same deadline as in-flight calls.
      closers.unshift(() => worker.stop(SHUTDOWN_DEADLINE_MS));
    }
    const reason = await stopped;
    stopWatch();
    runtime.logger.info({ reason }, 'twl serve stopping');
    // Stop accepting, let in-flight calls finish within a deadline, then close the store.
    let deadline: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(closers.map((close) => close().catch(() => undefined))), new Promise((r) => (deadline = setTimeout(r, SHUTDOWN_DEADLINE_MS)))]);
    clearTimeout(deadline);
  }
}
