import { existsSync, rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LoadedConfig } from '../runtime/config.js';
import { TwlError } from '../runtime/errors.js';
import type { Logger } from '../runtime/logger.js';
import { redactUrl } from '../runtime/redact.js';
import { EmbeddedStore, describeOwner, embeddedPaths, startEmbeddedHost, tryLock, type EmbeddedPaths } from './embedded.js';
import { migrate } from './migrate.js';
import { PgStore } from './postgres.js';
import type { Store } from './types.js';

export interface OpenOptions {
  /** Who is opening it, recorded for the error another process gets. */
  role?: string;
  /** Skip the automatic migration (db migrate/status do it themselves). */
  migrate?: boolean;
}

const connectToHost = (paths: EmbeddedPaths, poolSize: number, logger: Logger, onClose?: () => Promise<void>) =>
  PgStore.connect(
    { host: paths.runDir, port: 5432, user: 'postgres', database: 'postgres', max: poolSize, connectionTimeoutMillis: 2000 },
    'embedded-host',
    paths.dataDir,
    logger,
    onClose,
  );

/**
 * Waits, within store.lockTimeout, until this process may use the embedded store: either a
 * host (serve, dash) answers on the socket, or the data directory's lock is free.
 */
async function openEmbedded(loaded: LoadedConfig, logger: Logger, role: string): Promise<Store> {
  const paths = embeddedPaths(loaded.home);
  const deadline = Date.now() + loaded.config.store.lockTimeout;
  for (let attempt = 0; ; attempt++) {
    if (existsSync(paths.socketPath)) {
      try {
        return await connectToHost(paths, loaded.config.database.poolSize, logger);
      } catch {
        logger.debug({ socket: paths.socketPath }, 'embedded store host did not answer');
      }
    }
    const release = await tryLock(paths, role, logger);
    if (release) {
      // Whoever hosted before us is gone: its socket is stale.
      rmSync(paths.socketPath, { force: true });
      return EmbeddedStore.open(paths, release);
    }
    if (Date.now() >= deadline) {
      throw new TwlError(
        'TWL_STORE_BUSY',
        `The embedded store at ${paths.dataDir} is in use by ${describeOwner(paths)}, which does not share it; waited ${loaded.config.store.lockTimeout} ms.`,
      );
    }
    if (attempt === 0) logger.info({ owner: describeOwner(paths) }, 'waiting for the embedded store');
    await sleep(100);
  }
}

/** Opens twl's own store: PostgreSQL when database.url is set, else the embedded one; migrates it. */
export async function openStore(loaded: LoadedConfig, logger: Logger, options: OpenOptions = {}): Promise<Store> {
  const { url, poolSize, autoMigrate } = loaded.config.database;
  const store = url
    ? await PgStore.connect({ connectionString: url, max: poolSize }, 'postgres', redactUrl(url), logger)
    : await openEmbedded(loaded, logger, options.role ?? 'twl');
  if (options.migrate !== false && (autoMigrate || store.backend !== 'postgres')) {
    try {
      await migrate(store);
    } catch (err) {
      await store.close();
      throw err;
    }
  }
  return store;
}

/**
 * For long-running processes: host the embedded store on a socket (other twl processes
 * connect to it) and use it through that socket too. With database.url set, a plain store.
 */
export async function openHostedStore(loaded: LoadedConfig, logger: Logger, role: string): Promise<Store> {
  if (loaded.config.database.url) return openStore(loaded, logger, { role });
  const paths = embeddedPaths(loaded.home);
  // Another long-running process hosts it already: share that one.
  if (existsSync(paths.socketPath)) {
    const shared = await connectToHost(paths, loaded.config.database.poolSize, logger).catch(() => undefined);
    if (shared) return shared;
  }
  const deadline = Date.now() + loaded.config.store.lockTimeout;
  let release = await tryLock(paths, role, logger);
  while (!release) {
    if (Date.now() >= deadline) {
      throw new TwlError('TWL_STORE_BUSY', `The embedded store at ${paths.dataDir} is in use by ${describeOwner(paths)}; cannot host it.`);
    }
    await sleep(100);
    release = await tryLock(paths, role, logger);
  }
  const stopHost = await startEmbeddedHost(paths, release, logger);
  let store: Store;
  try {
    store = await connectToHost(paths, loaded.config.database.poolSize, logger, stopHost);
  } catch (err) {
    await stopHost();
    throw err;
  }
  await migrate(store);
  return store;
}
