import type { Store } from '../store/types.js';
import type { Cache } from './cache.js';
import type { Config, LoadedConfig } from './config.js';
import { TwlError } from './errors.js';
import type { Logger } from './logger.js';
import { redactUrl } from './redact.js';

export interface RuntimeOptions {
  /** Recorded as the owner of the embedded store, for the error another process gets. */
  role?: string;
  /** Long-running processes host the embedded store for others. */
  host?: boolean;
  /** The CLI entry point, to start a background store host (store.autoHost). */
  hostBin?: string;
}

/**
 * The long-lived resources of one twl process: configuration, logger, and the store, cache
 * and database targets, each opened on first use and closed once.
 */
export class Runtime {
  private storeP?: Promise<Store>;
  private cacheP?: Promise<Cache>;
  private readonly targets = new Map<string, Promise<Store>>();

  constructor(
    readonly loaded: LoadedConfig,
    readonly logger: Logger,
    /** Long-running processes host the embedded store for others. */
    private readonly options: RuntimeOptions = {},
  ) {}

  get config(): Config {
    return this.loaded.config;
  }

  store(): Promise<Store> {
    this.storeP ??= (async () => {
      const { openStore, openHostedStore } = await import('../store/open.js');
      const { host, role, hostBin } = this.options;
      return host ? openHostedStore(this.loaded, this.logger, role ?? 'twl') : openStore(this.loaded, this.logger, { role, hostBin });
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

  /** twl's own store (no name, or `store`), or one of database.targets. */
  target(name?: string): Promise<{ name: string; store: Store }> {
    if (name === undefined || name === 'store') return this.store().then((store) => ({ name: 'store', store }));
    const target = this.config.database.targets[name];
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

  async close(): Promise<void> {
    const settled = async <T extends { close(): Promise<void> }>(p?: Promise<T>) => (await p?.catch(() => undefined))?.close();
    await settled(this.cacheP);
    await Promise.all([...this.targets.values()].map((p) => settled(p)));
    await settled(this.storeP);
  }
}

/** What every op call receives. */
export interface OpContext {
  runtime: Runtime;
  config: Config;
  logger: Logger;
  store(): Promise<Store>;
  cache(): Promise<Cache>;
  target(name?: string): Promise<{ name: string; store: Store }>;
  /** A warning for the caller (the CLI prints it on stderr and lists it in the JSON envelope). */
  warn(message: string): void;
  /** Aborted on timeout, Ctrl-C or an MCP cancellation. */
  signal: AbortSignal;
}
