import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import lockfile from 'proper-lockfile';
import { TwlError, messageOf } from '../runtime/errors.js';
import type { Logger } from '../runtime/logger.js';
import { HostServer } from './host-server.js';
import { abortion, type QueryResult, type Queryable, type Store, type TransactionOptions } from './types.js';
import { makeWritableDir } from '../runtime/writable.js';

/** Where the embedded store keeps its files under the data directory. */
export function embeddedPaths(home: string) {
  // A Unix socket path must stay under ~104 bytes: deep data directories get their socket in the temp dir.
  const preferred = path.join(home, 'run');
  const runDir = preferred.length <= 80 ? preferred : path.join(os.tmpdir(), `twl-${createHash('sha256').update(home).digest('hex').slice(0, 16)}`);
  return {
    dataDir: path.join(home, 'store'),
    lockFile: path.join(home, 'store.lock'),
    ownerFile: path.join(home, 'store.owner.json'),
    runDir,
    /** `pg` connects to `<host>/.s.PGSQL.<port>` when host is a directory. */
    socketPath: path.join(runDir, '.s.PGSQL.5432'),
    /** A host listens here until it has migrated the store, then renames the socket to socketPath. */
    bootDir: path.join(runDir, 'boot'),
    bootSocketPath: path.join(runDir, 'boot', '.s.PGSQL.5432'),
  };
}

export type EmbeddedPaths = ReturnType<typeof embeddedPaths>;

interface Owner {
  pid: number;
  role: string;
  since: string;
}

const readOwner = (file: string): Owner | undefined => {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Owner;
  } catch {
    return undefined;
  }
};

/** The role a background host (`twl db host` started by a CLI command, store.autoHost) records as owner. */
export const BACKGROUND_HOST_ROLE = 'twl db host, in the background';

/**
 * Asks twl's own background host of this data directory, if that is what holds it, to hand the
 * store over: it stops listening, lets its clients finish (bounded), then exits and releases
 * the lock. Returns its pid, or undefined when the holder is anything else (serve, a
 * `twl db host` someone started, a command). The owner file is written by the lock holder and
 * the lock is live, so the pid is that process. `asked`: the pids signalled already.
 */
export function stopBackgroundHost(paths: EmbeddedPaths, logger: Logger, asked: Set<number>): number | undefined {
  const owner = readOwner(paths.ownerFile);
  if (owner?.role !== BACKGROUND_HOST_ROLE || owner.pid === process.pid) return undefined;
  // Asked once: it is handing over (a second signal would kill it mid-way).
  if (asked.has(owner.pid)) return owner.pid;
  asked.add(owner.pid);
  try {
    process.kill(owner.pid, 'SIGTERM');
  } catch {
    return undefined;
  }
  logger.info({ pid: owner.pid }, 'asked the background store host to hand the store over');
  return owner.pid;
}

export const describeOwner = (paths: EmbeddedPaths): string => {
  const owner = readOwner(paths.ownerFile);
  return owner ? `pid ${owner.pid} (${owner.role}, since ${owner.since})` : 'another twl process';
};

/**
 * Takes the data directory's lock without waiting; undefined when another process holds it.
 * A holder that dies leaves a lock that turns stale (and is taken over) after a few seconds.
 */
export async function tryLock(paths: EmbeddedPaths, role: string, logger: Logger): Promise<(() => Promise<void>) | undefined> {
  makeWritableDir(paths.dataDir, 'the embedded store');
  try {
    const release = await lockfile.lock(paths.dataDir, {
      lockfilePath: paths.lockFile,
      realpath: false,
      stale: 5000,
      update: 1000,
      retries: 0,
      onCompromised: (err) => logger.error({ err: messageOf(err) }, 'lost the embedded store lock'),
    });
    writeFileSync(paths.ownerFile, JSON.stringify({ pid: process.pid, role, since: new Date().toISOString() } satisfies Owner));
    return async () => {
      rmSync(paths.ownerFile, { force: true });
      await release().catch(() => undefined);
    };
  } catch (err) {
    if ((err as { code?: string }).code === 'ELOCKED') return undefined;
    throw new TwlError('TWL_STORE_FAILED', `Cannot lock the embedded store at ${paths.dataDir}: ${messageOf(err)}`, { cause: err });
  }
}

type Pending = { resolve: (value: unknown) => void; reject: (err: Error) => void; onChunk?: (chunk: Uint8Array) => void };

const workerUrl = new URL(`./engine-worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url);

/** A PGlite engine in a worker thread. */
export class EngineWorker {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private dead: Error | undefined;
  readonly ready: Promise<void>;
  /** Resolves once the worker thread is gone: only then may another engine open the same files. */
  readonly exited: Promise<void>;

  constructor(options: { dataDir: string }) {
    this.worker = new Worker(workerUrl, { workerData: options });
    this.exited = new Promise((resolve) => this.worker.once('exit', () => resolve()));
    this.ready = new Promise((resolve, reject) => {
      this.worker.on('message', (msg: { type?: string; id?: number; ok?: boolean; result?: unknown; chunk?: Uint8Array; error?: { message: string } & Record<string, unknown> }) => {
        if (msg.type === 'ready') return resolve();
        if (msg.type === 'fatal') {
          this.dead = new TwlError('TWL_STORE_FAILED', `Cannot open the embedded store at ${options.dataDir}: ${msg.error?.message}`);
          return reject(this.dead);
        }
        const pending = msg.id === undefined ? undefined : this.pending.get(msg.id);
        if (!pending) return;
        if (msg.chunk) return pending.onChunk?.(msg.chunk);
        this.pending.delete(msg.id!);
        if (msg.ok) pending.resolve(msg.result);
        else pending.reject(Object.assign(new Error(msg.error?.message ?? 'query failed'), msg.error));
      });
      this.worker.on('error', (err) => {
        this.fail(new TwlError('TWL_STORE_FAILED', `The embedded store engine failed: ${err.message}`, { cause: err }));
        reject(this.dead);
      });
      this.worker.on('exit', () => this.fail(new TwlError('TWL_STORE_FAILED', 'The embedded store engine has stopped.')));
    });
  }

  private fail(err: Error): void {
    this.dead ??= err;
    for (const p of this.pending.values()) p.reject(this.dead);
    this.pending.clear();
  }

  get alive(): boolean {
    return this.dead === undefined;
  }

  request<T>(message: Record<string, unknown>, onChunk?: (chunk: Uint8Array) => void): Promise<T> {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, onChunk });
      this.worker.postMessage({ id, ...message });
    });
  }

  /** Wire-protocol messages from a client of the host, answered chunk by chunk; says whether a transaction is open after them. */
  protocol(messages: Uint8Array[], onChunk: (chunk: Uint8Array) => void): Promise<{ inTransaction: boolean }> {
    return this.request({ type: 'protocol', messages }, onChunk);
  }

  /** Stops a statement that cannot be cancelled: the engine goes away with it. */
  async kill(reason: Error): Promise<void> {
    this.fail(reason);
    await this.worker.terminate();
  }

  async close(): Promise<void> {
    if (this.alive) await this.request({ type: 'close' }).catch(() => undefined);
    await this.worker.terminate();
  }
}

/** The embedded store opened by this process alone (it holds the lock). */
export class EmbeddedStore implements Store {
  readonly backend = 'embedded' as const;
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    private engine: EngineWorker,
    readonly location: string,
    private readonly release: () => Promise<void>,
  ) {}

  static async open(paths: EmbeddedPaths, release: () => Promise<void>): Promise<EmbeddedStore> {
    try {
      return new EmbeddedStore(await startEngine(paths.dataDir), paths.dataDir, release);
    } catch (err) {
      await release();
      throw err;
    }
  }

  private readonly direct: Queryable = {
    query: <R>(sql: string, params?: unknown[]) => this.engine.request<QueryResult<R>>({ type: 'query', sql, params }),
    exec: (sql: string) => this.engine.request<void>({ type: 'exec', sql }),
  };

  /** PGlite has one session: statements of this process run one transaction at a time. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const next = async () => {
      // An engine stopped by a timeout or an interruption is replaced (this process still holds the
      // lock), once its thread is gone: two engines on the same files at once would corrupt them.
      if (!this.engine.alive) {
        await this.engine.exited;
        this.engine = await startEngine(this.location);
      }
      return fn();
    };
    const run = this.queue.then(next, next);
    this.queue = run.catch(() => undefined);
    return run;
  }

  query<R = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<QueryResult<R>> {
    return this.exclusive(() => this.direct.query<R>(sql, params));
  }

  exec(sql: string): Promise<void> {
    return this.exclusive(() => this.direct.exec(sql));
  }

  transaction<T>(fn: (tx: Queryable) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
    return this.exclusive(async () => {
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<never>((_, reject) => {
        if (!options.timeoutMs) return;
        timer = setTimeout(() => {
          const err = new TwlError('TWL_TIMEOUT', `Statement timed out after ${options.timeoutMs} ms and was stopped.`);
          reject(err);
          void this.engine.kill(err);
        }, options.timeoutMs);
      });
      const work = (async () => {
        await this.direct.exec(options.readOnly ? 'BEGIN READ ONLY' : 'BEGIN');
        try {
          const result = await fn(this.direct);
          await this.direct.exec('COMMIT');
          return result;
        } catch (err) {
          if (this.engine.alive) await this.direct.exec('ROLLBACK').catch(() => undefined);
          throw err;
        }
      })();
      // PGlite cannot cancel a statement: an interruption stops the engine (a new one starts on next use).
      const interrupt = abortion(options.signal, () => void this.engine.kill(new TwlError('TWL_INTERRUPTED', 'Interrupted: the statement was stopped.')));
      try {
        return await Promise.race([work, timedOut, interrupt.promise]);
      } finally {
        clearTimeout(timer);
        interrupt.dispose();
        work.catch(() => undefined);
      }
    });
  }

  async close(): Promise<void> {
    await this.queue;
    await this.engine.close();
    await this.release();
  }
}

/** Starts an engine on a data directory; fails (and cleans up) when it cannot open it. */
async function startEngine(dataDir: string): Promise<EngineWorker> {
  const engine = new EngineWorker({ dataDir });
  try {
    await engine.ready;
  } catch (err) {
    await engine.close();
    throw err;
  }
  return engine;
}

/**
 * Hosts the embedded store on a Unix socket so other twl processes can share it (serve,
 * db host). It listens on a private boot socket first; `publish` moves the socket to where
 * clients look, atomically, once the host has prepared the store (migrations).
 */
export async function startEmbeddedHost(
  paths: EmbeddedPaths,
  release: () => Promise<void>,
  logger: Logger,
  options: { idleMs?: number } = {},
): Promise<{ publish: () => void; stop: () => Promise<void>; drain: (ms: number) => Promise<void>; ended: Promise<string>; server: HostServer }> {
  makeWritableDir(paths.bootDir, 'the embedded store\'s socket');
  for (const stale of [paths.socketPath, paths.bootSocketPath]) rmSync(stale, { force: true });
  let server: HostServer;
  try {
    server = new HostServer(await startEngine(paths.dataDir), () => startEngine(paths.dataDir), logger, { dataDir: paths.dataDir, idleMs: options.idleMs, maxConnections: 64 });
    await server.listen(paths.bootSocketPath);
  } catch (err) {
    await release();
    throw err;
  }
  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      await (await server.stop()).close();
      for (const socket of [paths.socketPath, paths.bootSocketPath]) rmSync(socket, { force: true });
      await release();
    })());
  const publish = () => {
    renameSync(paths.bootSocketPath, paths.socketPath);
    logger.info({ socket: paths.socketPath }, 'hosting the embedded store');
  };
  /** Stops taking clients (the socket goes away) and waits, up to ms, for the connected ones to finish. */
  const drain = async (ms: number) => {
    for (const socket of [paths.socketPath, paths.bootSocketPath]) rmSync(socket, { force: true });
    await server.drain(ms);
  };
  return { publish, stop, drain, ended: server.ended, server };
}
