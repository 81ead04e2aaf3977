import type { AnyOp, Role } from '../ops/op.js';
import type { ToolCatalog } from '../tools/types.js';
import type { Store } from '../store/types.js';
import type { Cache } from './cache.js';
import type { Config, LoadedConfig } from './config.js';
import { TwlError } from './errors.js';
import { Llm } from './llm.js';
import type { Logger } from './logger.js';
import { redactUrl } from './redact.js';

export interface RuntimeOptions {
  /** Recorded as the owner of the embedded store, for the error another process gets. */
  role?: string;
  /** Long-running processes host the embedded store for others. */
  host?: boolean;
  /** The CLI entry point, to start a background store host (store.autoHost). */
  hostBin?: string;
  /** Who acts, recorded on timelines and audit rows: `cli:alice`, `mcp:claude-code`. */
  actor?: string;
  /** The face this process serves calls through by default (a call may say otherwise: REST inside `twl serve`). */
  face?: Face;
  /** A long-running client of a shared embedded host (twl dash): keeps its connection open. */
  keepAlive?: boolean;
  /** Every op by MCP name, for agents that run ops by name (Maestro). Given by the CLI or the server. */
  ops?: () => Promise<Map<string, AnyOp>>;
  /**
   * Builds the tool catalog (src/tools) once, for ops that call tools by name (Maestro's steps):
   * the face that starts the process gives it, so the runtime never imports the catalog.
   */
  tools?: (runtime: Runtime) => ToolCatalog;
}

/** Where a call comes from: the command line, an MCP client, or the REST API. */
export type Face = 'cli' | 'mcp' | 'rest';

/**
 * The long-lived resources of one twl process: configuration, logger, and the store, cache
 * and database targets, each opened on first use and closed once.
 */
/** Durations kept per second, tool and outcome (see Runtime.activity). */
export const SAMPLED_CALLS = 20;

export class Runtime {
  private storeP?: Promise<Store>;
  private cacheP?: Promise<Cache>;
  private readonly targets = new Map<string, Promise<Store>>();
  private llmClient?: Llm | null;
  /**
   * Op calls made by this process, by second, tool and outcome, written to the store within a
   * few seconds and when it closes: each bucket counts every call and keeps a uniform sample of
   * at most SAMPLED_CALLS durations (for the dashboard's p95), so a busy server writes rows at
   * a bounded rate whatever its call rate.
   */
  private readonly activity = new Map<string, { at: Date; tool: string; ok: boolean; calls: number; samples: number[] }>();
  private flushTimer?: NodeJS.Timeout;
  private catalog?: ToolCatalog;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    readonly loaded: LoadedConfig,
    readonly logger: Logger,
    /** Long-running processes host the embedded store for others. */
    private readonly options: RuntimeOptions = {},
  ) {}

  get config(): Config {
    return this.loaded.config;
  }

  get actor(): string | undefined {
    return this.options.actor;
  }

  get face(): Face {
    return this.options.face ?? 'cli';
  }

  /** The ops agents may run by name. */
  ops(): Promise<Map<string, AnyOp>> {
    if (!this.options.ops) return Promise.reject(new Error('This runtime was created without an op registry (RuntimeOptions.ops).'));
    return this.options.ops();
  }

  /** The tool catalog, built on first use by the factory the face gave (RuntimeOptions.tools). */
  get tools(): ToolCatalog {
    if (!this.catalog) {
      if (!this.options.tools) return noCatalog;
      this.catalog = this.options.tools(this);
    }
    return this.catalog;
  }

  store(): Promise<Store> {
    this.storeP ??= (async () => {
      const { openStore, openHostedStore } = await import('../store/open.js');
      const { host, role, hostBin, keepAlive } = this.options;
      return host ? openHostedStore(this.loaded, this.logger, role ?? 'twl') : openStore(this.loaded, this.logger, { role, hostBin, keepAlive });
    })();
    // A failed open is not cached: the next call tries again (a database that came back).
    this.storeP.catch(() => (this.storeP = undefined));
    return this.storeP;
  }

  cache(): Promise<Cache> {
    this.cacheP ??= (async () => {
      const { StoreCache, RedisCache } = await import('./cache.js');
      const { url, prefix } = this.config.redis;
      return url ? RedisCache.connect(url, prefix, this.logger) : new StoreCache(await this.store());
    })();
    this.cacheP.catch(() => (this.cacheP = undefined));
    return this.cacheP;
  }

  /** Ollama when llm.host is configured; undefined means the rule-based agents only. */
  llm(): Llm | undefined {
    if (this.llmClient === undefined) this.llmClient = Llm.fromConfig(this.config) ?? null;
    return this.llmClient ?? undefined;
  }

  /** twl's own store (no name, or `store`), or one of database.targets. */
  target(name?: string): Promise<{ name: string; store: Store }> {
    if (name === undefined || name === 'store') return this.store().then((store) => ({ name: 'store', store }));
    const target = Object.hasOwn(this.config.database.targets, name) ? this.config.database.targets[name] : undefined;
    if (!target) {
      const known = Object.keys(this.config.database.targets);
      throw new TwlError('TWL_TARGET_UNKNOWN', `Unknown database target "${name}". ${known.length ? `Configured targets: ${known.join(', ')} (or "store" for twl's own store).` : 'No database.targets are configured; only "store" (twl\'s own store) is available.'}`);
    }
    let p = this.targets.get(name);
    if (!p) {
      p = import('../store/postgres.js').then(({ PgStore }) => PgStore.connect({ connectionString: target.url, max: 2 }, 'postgres', redactUrl(target.url), this.logger));
      p.catch(() => this.targets.delete(name));
      this.targets.set(name, p);
    }
    return p.then((store) => ({ name, store }));
  }

  /** Records an op call for the team-wide activity view (twl dash). */
  recordCall(tool: string, ms: number, ok: boolean): void {
    const second = Math.floor(Date.now() / 1000);
    const key = `${second}|${ok ? 1 : 0}|${tool}`;
    let bucket = this.activity.get(key);
    if (!bucket) this.activity.set(key, (bucket = { at: new Date(second * 1000), tool, ok, calls: 0, samples: [] }));
    bucket.calls++;
    // Reservoir sampling: every call of the second has the same chance to be among those kept.
    if (bucket.samples.length < SAMPLED_CALLS) bucket.samples.push(ms);
    else {
      const slot = Math.floor(Math.random() * bucket.calls);
      if (slot < SAMPLED_CALLS) bucket.samples[slot] = ms;
    }
    // Memory is bounded per bucket, so only the number of buckets (seconds × tools) asks for an early write.
    if (this.activity.size >= 1000) void this.flushActivity();
    else if (!this.flushTimer) {
      // Soon, so a long-running process shows up on the dashboard; unref'd, so it holds no one.
      this.flushTimer = setTimeout(() => {
        this.flushTimer = undefined;
        void this.flushActivity();
      }, 5000);
      this.flushTimer.unref();
    }
  }

  /**
   * Writes the recorded calls in one statement, and now and then prunes what the store keeps no
   * longer (store/retention.ts), a few batches at most, when a pass is due.
   * Only when the store is open already, or cheap to reach (a host serves it, or PostgreSQL):
   * a Redis-only command does not pay for opening the embedded store just to record itself.
   */
  flushActivity(): Promise<void> {
    // One write at a time, in order: awaiting this also awaits the writes started before.
    this.flushing = this.flushing.then(() => this.writeActivity());
    return this.flushing;
  }

  private async writeActivity(): Promise<void> {
    if (!this.activity.size) return;
    const reachable = this.storeP !== undefined || Boolean(this.config.database.url) || (await this.hostRunning());
    if (!reachable) return;
    const buckets = [...this.activity.values()];
    this.activity.clear();
    // Each kept duration stands for calls / samples calls (the remainder spread over the first ones).
    const rows = buckets.flatMap((b) => b.samples.map((ms, i) => ({ at: b.at, tool: b.tool, ok: b.ok, ms, weight: Math.floor(b.calls / b.samples.length) + (i < b.calls % b.samples.length ? 1 : 0) })));
    try {
      const store = await this.store();
      await store.query(
        'INSERT INTO twl_op_calls (at, tool, caller, duration_ms, ok, weight) SELECT * FROM unnest($1::timestamptz[], $2::text[], $3::text[], $4::real[], $5::bool[], $6::int[])',
        [rows.map((r) => r.at.toISOString()), rows.map((r) => r.tool), rows.map(() => this.actor ?? 'unknown'), rows.map((r) => r.ms), rows.map((r) => r.ok), rows.map((r) => r.weight)],
      );
      // Pruning now and then is enough to bound the tables (twl worker, serve and the store host prune
      // too); every write would be waste. A pass only when one is due and no other process holds it.
      if (Math.random() < 0.05) {
        const { PASS_BATCHES, holderName, logLost, prunePass } = await import('../store/retention.js');
        logLost(this.logger, (await prunePass(store, this.config.store, { holder: holderName(this.options.role ?? 'twl'), maxBatches: PASS_BATCHES }))?.lost);
      }
    } catch (err) {
      this.logger.debug({ err: (err as Error).message }, 'could not record op calls');
    }
  }

  private async hostRunning(): Promise<boolean> {
    const { existsSync } = await import('node:fs');
    const { embeddedPaths } = await import('../store/embedded.js');
    return existsSync(embeddedPaths(this.loaded.home).socketPath);
  }

  async close(): Promise<void> {
    // The catalog first: its audit rows go to the store, and its upstream children are stopped.
    await this.catalog?.close().catch((err: unknown) => this.logger.warn({ err: (err as Error).message }, 'closing the tool catalog failed'));
    clearTimeout(this.flushTimer);
    // A command whose statement overran exits at its timeout: it does not wait for the
    // store host's new engine just to record the call.
    const store = await this.storeP?.catch(() => undefined);
    if (store?.abandoned && this.activity.size) {
      this.logger.debug({ calls: this.activity.size }, 'not recording op calls: the store host is replacing its engine');
      this.activity.clear();
    }
    await this.flushActivity();
    const settled = async <T extends { close(): Promise<void> }>(p?: Promise<T>) => (await p?.catch(() => undefined))?.close();
    await settled(this.cacheP);
    await Promise.all([...this.targets.values()].map((p) => settled(p)));
    await settled(this.storeP);
  }
}

const missing = () => new TwlError('TWL_TOOL_MISSING', 'This process was started without a tool catalog (RuntimeOptions.tools).');
/** The catalog of a runtime made without one: every use says so. */
const noCatalog: ToolCatalog = {
  list: () => Promise.reject(missing()),
  get: () => Promise.reject(missing()),
  call: () => Promise.reject(missing()),
  onChanged: () => () => undefined,
  close: () => Promise.resolve(),
};

/** What every op call receives. */
export interface OpContext {
  runtime: Runtime;
  /** The face this call came through (recorded as a ticket's source, for instance). */
  face: Face;
  /** Who makes this call, for timelines and audit rows: `cli:alice`, `rest:ops-bot`, `mcp:claude-code`. */
  actor: string;
  /** The caller's role over HTTP (a key's, a token's); undefined for a local user (CLI, stdio). */
  role?: Role;
  /** The namespaces the caller's API key is granted; undefined: every one. */
  namespaces?: string[];
  /** The id of the caller's API key; undefined: no key (the command line, stdio, OAuth tokens, auth: none). */
  keyId?: number;
  /** When the caller's grant ends (ISO 8601): an OAuth access token's `exp`; undefined: it does not end by itself (the command line, stdio, API keys, auth: none). */
  grantExpiresAt?: string;
  /** Every tool by name (twl's ops and upstream tools), through the catalog's one call path. */
  tools: ToolCatalog;
  config: Config;
  logger: Logger;
  store(): Promise<Store>;
  cache(): Promise<Cache>;
  target(name?: string): Promise<{ name: string; store: Store }>;
  /** Ollama, when configured. */
  llm(): Llm | undefined;
  /** A warning for the caller (the CLI prints it on stderr and lists it in the JSON envelope). */
  warn(message: string): void;
  /** Aborted on timeout, Ctrl-C or an MCP cancellation. */
  signal: AbortSignal;
  /** Asks the caller a yes/no question; undefined: nobody can answer (scripts without --yes). */
  ask(question: string): Promise<boolean | undefined>;
  /** Reports progress of long work. */
  progress(update: Progress): void;
}

export interface Progress {
  message: string;
  /** Steps done and in all, when known. */
  done?: number;
  total?: number;
  status?: 'running' | 'ok' | 'failed' | 'skipped' | 'cancelled' | 'waiting';
}
