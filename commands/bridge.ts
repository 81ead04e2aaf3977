import { Flags } from '@oclif/core';
import { TwlCommand } from '../src/cli/base.js';
import { durationHint, parseDuration } from '../src/runtime/duration.js';
import { TwlError } from '../src/runtime/errors.js';

/** How long calls in flight get to finish once the bridge stops accepting. */
const SHUTDOWN_DEADLINE_MS = 10_000;

const duration = (flag: string, value: string | undefined): number | undefined => {
  if (value === undefined) return undefined;
  const ms = parseDuration(value);
  if (ms === undefined || ms < 1) throw new TwlError('TWL_INPUT_INVALID', `--${flag} ${JSON.stringify(value.slice(0, 40))} is not a duration: expected ${durationHint}.`);
  return ms;
};

export default class Bridge extends TwlCommand<void> {
  static override summary = 'Serve any stdio MCP server over Streamable HTTP, supervised (keys, roles, queue, breaker, cache).';
  static override description =
    'Starts the MCP server given after -- (or the upstream configured under --upstream NAME) as a supervised child and serves its tools, under their own names, over HTTP:\n' +
    '- MCP Streamable HTTP at /mcp, for both protocol eras: 2025 sessions (initialize, Mcp-Session-Id) and stateless 2026-07-28 requests;\n' +
    '- the REST face POST /mcp/tools/list and POST /mcp/tools/call, with X-Session-ID, X-Priority (CRITICAL, HIGH, MEDIUM, LOW, BULK or -100..100) and X-Timeout (seconds or a duration);\n' +
    '- /health (the upstream as a dependency), /metrics (Prometheus: queue wait, children by state, restarts, cache hits, breaker, call latency) and /mcp/status (bridge, sessions, queue, cache, performance).\n' +
    'Everything `twl serve --http` checks applies: API keys and roles (twl keys create), rate limits, Host and Origin checks, the body limit.\n' +
    'Sharing: shared (one child for every caller, the default), pool (up to --pool-max children, least busy first) or isolated (one child per downstream session, closed with the session: DELETE, or idle for http.timeouts.sessionIdle).\n' +
    'A child that dies fails its calls in flight at once and is restarted with backoff; one that keeps dying is put in crash-loop and calls are refused saying why. No child outlives the bridge, even a killed one.';
  static override examples = [
    '<%= config.bin %> <%= command.id %> -- mcp-server-everything stdio',
    '<%= config.bin %> <%= command.id %> --port 3003 --sharing isolated -- node ./my-server.js',
    '<%= config.bin %> <%= command.id %> --env API_TOKEN=${env:API_TOKEN} -- uvx some-mcp-server',
    '<%= config.bin %> <%= command.id %> --upstream docs --host 0.0.0.0 --allowed-host mcp.internal.example',
  ];
  static override strict = false;
  static override enableJsonFlag = false;
  static override flags = {
    host: Flags.string({ description: 'Address to bind.', default: '127.0.0.1' }),
    port: Flags.integer({ description: 'Port (0: any free port).', default: 3003, min: 0, max: 65_535 }),
    sharing: Flags.string({ description: 'How callers share the upstream: one child (shared), several (pool), or one per downstream session (isolated).', options: ['shared', 'pool', 'isolated'] }),
    upstream: Flags.string({ description: 'Bridge the upstream of this name from the configuration (upstreams:) instead of a command after --.' }),
    name: Flags.string({ description: 'Name of the upstream in errors, logs and metrics (default: bridge).' }),
    timeout: Flags.string({ description: `How long one call may take, queue wait included (${durationHint}; default 30s).` }),
    'idle-timeout': Flags.string({ description: `Stop a child after this long without calls (${durationHint}; default 15m); it starts again on the next call.` }),
    'pool-max': Flags.integer({ description: 'Most children with --sharing pool.', min: 1, max: 64 }),
    env: Flags.string({ description: 'NAME=VALUE for the child\'s environment (repeat); VALUE may be ${env:NAME}. The child gets no other variable of yours but PATH, HOME, LANG and the like.', multiple: true }),
    cwd: Flags.string({ description: 'Working directory of the child.' }),
    'allowed-host': Flags.string({ description: 'A Host header to accept besides loopback names (repeat), for access through a DNS name.', multiple: true }),
  };

  protected override runtimeOptions() {
    return { ...super.runtimeOptions(), role: 'twl bridge', host: true, actor: 'mcp', face: 'mcp' as const };
  }

  async run(): Promise<void> {
    const { flags, argv } = await this.parse(Bridge);
    const command = (argv as string[]).filter((a, i) => !(i === 0 && a === '--'));
    const runtime = await this.runtime();
    const { startBridge } = await import('../src/bridge/index.js');
    const bridge = await startBridge({
      runtime,
      version: this.config.version,
      host: flags.host,
      port: flags.port,
      allowedHosts: flags['allowed-host'],
      command,
      flags: {
        upstream: flags.upstream,
        name: flags.name,
        sharing: flags.sharing as 'shared' | 'pool' | 'isolated' | undefined,
        timeoutMs: duration('timeout', flags.timeout),
        idleTimeoutMs: duration('idle-timeout', flags['idle-timeout']),
        poolMax: flags['pool-max'],
        env: flags.env,
        cwd: flags.cwd,
      },
    });
    const exposed = !['127.0.0.1', '::1', 'localhost'].includes(flags.host);
    if (exposed && runtime.config.http.auth === 'none') this.logToStderr(`Warning: binding ${flags.host} with http.auth "none" lets anyone who reaches it call every tool of the upstream.`);
    if (bridge.startProblem) this.logToStderr(`Warning: the upstream did not start: ${bridge.startProblem} (the bridge serves anyway; /health and /mcp/status show its state)`);
    this.logToStderr(`twl bridge serves MCP at ${bridge.url}/mcp for ${bridge.upstream} (${bridge.sharing}; REST ${bridge.url}/mcp/tools/call, health ${bridge.url}/health)`);
    const reason = await new Promise<string>((resolve) => {
      process.once('SIGINT', () => resolve('interrupted'));
      process.once('SIGTERM', () => resolve('terminated'));
    });
    runtime.logger.info({ reason }, 'twl bridge stopping');
    let deadline: NodeJS.Timeout | undefined;
    await Promise.race([bridge.close().catch(() => undefined), new Promise((r) => (deadline = setTimeout(r, SHUTDOWN_DEADLINE_MS)))]);
    clearTimeout(deadline);
  }
}
