import { spawn } from 'node:child_process';
import { existsSync, openSync, rmSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LoadedConfig } from '../runtime/config.js';
import { TwlError } from '../runtime/errors.js';
import type { Logger } from '../runtime/logger.js';
import { redactUrl } from '../runtime/redact.js';
import { BACKGROUND_HOST_ROLE, EmbeddedStore, describeOwner, embeddedPaths, startEmbeddedHost, stopBackgroundHost, tryLock, type EmbeddedPaths } from './embedded.js';
import { SELF_APPLICATION } from './host-server.js';
import { migrate } from './migrate.js';
import { PgStore } from './postgres.js';
import type { Store } from './types.js';
import { makeWritableDir } from '../runtime/writable.js';

export interface OpenOptions {
  /** Who is opening it, recorded for the error another process gets. */
  role?: string;
  /** Skip the automatic migration (db migrate/status do it themselves). */
  migrate?: boolean;
  /** The CLI entry point: with store.autoHost on, start a background host (`twl db host`) when none runs. */
  hostBin?: string;
  /** A long-running client (twl dash): keep a connection to the host open, so an idle-expiring host stays up for it. */
  keepAlive?: boolean;
}

const connectToHost = (paths: EmbeddedPaths, loaded: LoadedConfig, logger: Logger, options: { keepAlive?: boolean; onClose?: () => Promise<void>; dir?: string; self?: boolean; poolSize?: number } = {}) =>
  PgStore.connect(
    {
      host: options.dir ?? paths.runDir,
      port: 5432,
      user: 'postgres',
      database: 'postgres',
      max: options.poolSize ?? loaded.config.database.poolSize,
      // The host answers a new connection in turn with the statements of its other clients (one
      // engine, one session): a busy host is the store in use, which a command waits for
      // store.lockTimeout. A host that is gone refuses at once (no socket, or nobody listening).
      connectionTimeoutMillis: Math.max(loaded.config.store.lockTimeout, 2000),
      // The hosting process's own connections: the host does not wait for them when it hands over.
      ...(options.self ? { application_name: SELF_APPLICATION } : {}),
      // A long-running client keeps its connection, so an idle-expiring host stays up for it.
      ...(options.keepAlive ? { idleTimeoutMillis: 0, allowExitOnIdle: false } : {}),
    },
    'embedded-host',
    paths.dataDir,
    logger,
    options.onClose,
  );

/** The longest a command waits for the background host it started to answer: only a host that hangs takes this long. */
const HOST_START_MAX_MS = 120_000;

/** Starts `twl db host` in the background, detached, logging to run/host.log; resolves when its socket answers. */
async function spawnHost(loaded: LoadedConfig, paths: EmbeddedPaths, hostBin: string, logger: Logger, keepAlive: boolean): Promise<Store | undefined> {
  makeWritableDir(paths.runDir, 'the embedded store host\'s run files');
  const log = openSync(path.join(paths.runDir, 'host.log'), 'a');
  const child = spawn(process.execPath, [hostBin, 'db', 'host', '--idle', `${loaded.config.store.autoHost}ms`, '--background'], {
    detached: true,
    stdio: ['ignore', log, log],
    env: { ...process.env, TWL_HOME: loaded.home, ...(loaded.file ? { TWL_CONFIG: loaded.file } : {}) },
  });
  let exited = false;
  child.once('exit', () => (exited = true));
  child.once('error', () => (exited = true));
  child.unref();
  logger.debug({ pid: child.pid }, 'started a background store host');
  // Wait as long as it runs: it publishes its socket once the store is ready, or exits (it lost the
  // race to another host, which answers on the socket, or failed). Opening an existing store takes
  // well under a second, creating a new one a few seconds, and much longer on a loaded machine: a
  // fixed wait shorter than that failed the first command with TWL_STORE_BUSY while the host it
  // had started was still creating the store (and holding its lock).
  const started = Date.now();
  let told = false;
  while (Date.now() - started < Math.max(loaded.config.store.lockTimeout, HOST_START_MAX_MS)) {
    const gone = exited;
    if (existsSync(paths.socketPath)) {
      const store = await connectToHost(paths, loaded, logger, { keepAlive }).catch(() => undefined);
      if (store) return store;
    }
    if (gone) return undefined;
    if (!told && Date.now() - started > loaded.config.store.lockTimeout) {
      told = true;
      logger.info({ pid: child.pid, log: path.join(paths.runDir, 'host.log') }, 'still waiting for the background store host to open the store');
    }
    await sleep(25);
  }
  return undefined;
}

/**
 * Waits, within store.lockTimeout, until this process may use the embedded store: either a
 * host (serve, db host) answers on the socket, or the data directory's lock is free.
 */
async function openEmbedded(loaded: LoadedConfig, logger: Logger, options: OpenOptions): Promise<Store> {
  const paths = embeddedPaths(loaded.home);
  let deadline = Date.now() + loaded.config.store.lockTimeout;
  let spawned = false;
  for (let attempt = 0; ; attempt++) {
    if (existsSync(paths.socketPath)) {
      const store = await connectToHost(paths, loaded, logger, { keepAlive: options.keepAlive }).catch(() => undefined);
      if (store) return store;
      logger.debug({ socket: paths.socketPath }, 'embedded store host did not answer');
    } else if (options.hostBin && loaded.config.store.autoHost > 0 && !spawned) {
      spawned = true;
      const store = await spawnHost(loaded, paths, options.hostBin, logger, options.keepAlive ?? false);
      if (store) return store;
      logger.info('the background store host did not start; opening the store directly');
      // Waiting for it used up the wait (a new store on a loaded machine): wait for its lock anew.
      deadline = Date.now() + loaded.config.store.lockTimeout;
    }
    const release = await tryLock(paths, options.role ?? 'twl', logger);
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
  const store = url ? await PgStore.connect({ connectionString: url, max: poolSize }, 'postgres', redactUrl(url), logger) : await openEmbedded(loaded, logger, options);
  // A host migrated the store when it opened it.
  const shouldMigrate = options.migrate !== false && store.backend !== 'embedded-host' && (autoMigrate || store.backend === 'embedded');
  if (shouldMigrate) {
    try {
      await migrate(store);
    } catch (err) {
      await store.close();
      throw err;
    }
  }
  return store;
}

export interface HostedStore {
  store: Store;
  /** Whether this process hosts it (false: it shares another process's host, or uses PostgreSQL). */
  hosting: boolean;
  /** Resolves with the reason when the host should stop (idle, data directory removed). Never, for a shared or PostgreSQL store. */
  ended: Promise<string>;
  /** Hosting: stop taking clients and let the connected ones finish, up to ms (then close the store). */
  drain: (ms: number) => Promise<void>;
}

/** How long a background host lets its clients finish when a long-running process takes the store over. */
export const HANDOVER_MS = 5000;

/**
 * For long-running processes: host the embedded store on a socket (other twl processes
 * connect to it) and use it through that socket too. twl's own background host (started by a
 * CLI command) hands the store over to it; another long-running host (serve, a `twl db
 * host` started by hand) is shared. With database.url set, a plain store.
 */
export async function hostStore(loaded: LoadedConfig, logger: Logger, role: string, options: { idleMs?: number } = {}): Promise<HostedStore> {
  const never = new Promise<string>(() => undefined);
  const drainNothing = async () => undefined;
  if (loaded.config.database.url) return { store: await openStore(loaded, logger, { role }), hosting: false, ended: never, drain: drainNothing };
  const paths = embeddedPaths(loaded.home);
  // A background host never takes over another one: it shares it (or loses the race).
  const takeOver = role !== BACKGROUND_HOST_ROLE;
  const started = Date.now();
  const deadline = started + Math.max(loaded.config.store.lockTimeout, takeOver ? HANDOVER_MS + 5000 : 0);
  const asked = new Set<number>();
  let release = await tryLock(paths, role, logger);
  while (!release) {
    const handingOver = takeOver && stopBackgroundHost(paths, logger, asked) !== undefined;
    if (!handingOver && existsSync(paths.socketPath)) {
      const shared = await connectToHost(paths, loaded, logger, { keepAlive: true }).catch(() => undefined);
      if (shared) return { store: shared, hosting: false, ended: never, drain: drainNothing };
    }
    // A background host handing over lets its clients finish (HANDOVER_MS at most), then closes its
    // engine, which may be restarting after a stopped statement: slow on a loaded machine, so it is
    // waited for while it still owns the store (it releases it last), up to HOST_START_MAX_MS.
    const waitMore = handingOver && Date.now() - started < HOST_START_MAX_MS;
    if (Date.now() >= deadline && !waitMore) {
      throw new TwlError('TWL_STORE_BUSY', `The embedded store at ${paths.dataDir} is in use by ${describeOwner(paths)}; cannot host it.`);
    }
    await sleep(100);
    release = await tryLock(paths, role, logger);
  }
  const host = await startEmbeddedHost(paths, release, logger, options);
  let store: Store;
  try {
    // Clients trust a published host to have migrated the store: migrate before publishing.
    const boot = await connectToHost(paths, loaded, logger, { dir: paths.bootDir, poolSize: 1 });
    try {
      await migrate(boot);
    } finally {
      await boot.close();
    }
    host.publish();
    store = await connectToHost(paths, loaded, logger, { onClose: host.stop, self: true });
  } catch (err) {
    await host.stop();
    throw err;
  }
  return { store, hosting: true, ended: host.ended, drain: host.drain };
}

export const openHostedStore = async (loaded: LoadedConfig, logger: Logger, role: string): Promise<Store> => (await hostStore(loaded, logger, role)).store;
