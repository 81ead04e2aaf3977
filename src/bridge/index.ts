/**
 * `twl bridge`: one upstream MCP server (a stdio command, or a configured `upstreams:` entry)
 * served over HTTP by twl's own HTTP server, through a catalog holding only that upstream's tools.
 * The bridge adds the seed's REST face, its /mcp/status sections and /health dependency, and
 * ties 2025 MCP sessions to upstream children in isolated sharing.
 */
import path from 'node:path';
import { bindHttpServer, startHttpServer } from '../http/server.js';
import type { Runtime } from '../runtime/context.js';
import { messageOf } from '../runtime/errors.js';
import { Catalog } from '../tools/catalog.js';
import { configuredUpstreams } from '../tools/upstreams.js';
import { namespaceOf } from '../upstream/config.js';
import { openUpstreams } from '../upstream/index.js';
import { SecretBox } from '../upstream/secrets.js';
import { bridgeEntry, type BridgeFlags } from './entry.js';
import { directCalls } from './direct.js';
import { forwardExtras } from './forward.js';
import { restFace } from './rest.js';
import { RestSessions } from './sessions.js';
import { upstreamDependency, upstreamHealth } from '../upstream/health.js';
import { bridgeSections } from './status.js';
import { BridgeCatalog, PROBE_SESSION } from './tools.js';

export interface BridgeOptions {
  runtime: Runtime;
  version: string;
  host: string;
  port: number;
  allowedHosts?: string[];
  /** The program and arguments after `--` (empty with flags.upstream). */
  command: string[];
  flags: BridgeFlags;
}

export interface RunningBridge {
  url: string;
  /** The upstream as logs show it: its name and program, never its arguments or environment (they may hold secrets). */
  upstream: string;
  sharing: string;
  /** Why the upstream did not answer at start, if it did not (the bridge serves anyway). */
  startProblem?: string;
  close(): Promise<void>;
}

/** A 2025 session seen idle for this long counts as idle in /mcp/status. */
const IDLE_AFTER_MS = 60_000;

export async function startBridge(options: BridgeOptions): Promise<RunningBridge> {
  const { runtime } = options;
  // A configured upstream may be in the configuration file or added with `twl upstream add` (the store).
  const configured = options.flags.upstream === undefined ? [] : (await configuredUpstreams(runtime, (m) => runtime.logger.warn(m))).map((u) => u.entry);
  const entry = bridgeEntry(options.flags, options.command, configured);
  // The address first: one that cannot be bound (a port in use, a privileged port, an address not of
  // this machine) fails before any upstream child is started. Requests that come before the bridge is
  // ready are answered 503 with Retry-After (TWL_STARTING).
  const bound = await bindHttpServer({ host: options.host, port: options.port, runtime });
  const set = openUpstreams([entry], { logger: runtime.logger, cache: () => runtime.cache(), secrets: new SecretBox({ home: runtime.loaded.home }) });
  const upstream = set.get(entry.name)!;
  const isolated = entry.sharing === 'isolated';
  const catalog = new BridgeCatalog(new Catalog(runtime, { ops: async () => new Map(), upstreams: async () => set }), upstream, isolated);
  // An isolated session's child ends with the session: REST sessions here when idle; MCP sessions
  // (DELETE or expiry) through the catalog's closeSession, which the HTTP server calls.
  const closeSession = (key: string) => void upstream.closeSession(key).catch((err: unknown) => runtime.logger.debug({ err: messageOf(err) }, 'closing an upstream session failed'));
  const sessions = new RestSessions(runtime.config.http.timeouts.sessionIdle * 1000, (key) => isolated && closeSession(key));
  // The server could not start: the socket, the upstream's children and the session sweep end with the error.
  const abandon = async (err: unknown): Promise<never> => {
    sessions.close();
    await Promise.all([catalog.close(), bound.close()]);
    throw err;
  };
  let startProblem: string | undefined;
  let capabilities: Record<string, unknown> = {};
  // Start the upstream now: a broken command shows at once (the bridge serves anyway, its state in
  // /health), and what it declares (resources, prompts) decides what the bridge forwards. In isolated
  // sharing a child of its own answers this, and is closed at once.
  const probe = isolated ? { sessionKey: PROBE_SESSION } : {};
  try {
    await upstream.listTools(probe);
    capabilities = await upstream.capabilities(probe);
  } catch (err) {
    startProblem = messageOf(err);
  } finally {
    if (isolated) await upstream.closeSession(probe.sessionKey!).catch(abandon);
  }
  const http = await startHttpServer({
    host: options.host,
    port: options.port,
    bound,
    catalog,
    runtime,
    version: options.version,
    allowedHosts: options.allowedHosts,
    extension: {
      route: restFace({ catalog, sessions, isolated }),
      status: bridgeSections(() => upstream.status(), catalog, sessions, IDLE_AFTER_MS),
      health: async () => {
        const s = upstream.status();
        return { status: upstreamHealth(s), dependencies: { upstream: upstreamDependency(s) } };
      },
      mcpExtras: forwardExtras(upstream, catalog, capabilities, isolated, namespaceOf(entry)),
      // isolated: every call takes the SDK path, whose session can carry the upstream's elicitation and sampling to the client.
      ...(isolated ? {} : { callTool: directCalls(catalog, isolated, runtime.logger) }),
    },
  }).catch(abandon);
  return {
    url: http.url,
    upstream: entry.transport === 'stdio' ? `${entry.name} (${path.basename(entry.command!)})` : `${entry.name} (${new URL(entry.url!).host})`,
    sharing: entry.sharing,
    ...(startProblem ? { startProblem } : {}),
    close: async () => {
      await http.close();
      sessions.close();
      await catalog.close();
    },
  };
}
