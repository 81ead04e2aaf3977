import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import lockfile from 'proper-lockfile';
import { TwlError, messageOf } from '../runtime/errors.js';
import type { Logger } from '../runtime/logger.js';
import { abortion, type QueryResult, type Queryable, type Store, type TransactionOptions } from './types.js';

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

export const describeOwner = (paths: EmbeddedPaths): string => {
  const owner = readOwner(paths.ownerFile);
  return owner ? `pid ${owner.pid} (${owner.role}, since ${owner.since})` : 'another twl process';
};

/**
 * Takes the data directory's lock without waiting; undefined when another process holds it.
 * A holder that dies leaves a lock that turns stale (and is taken over) after a few seconds.
 */
export async function tryLock(paths: EmbeddedPaths, role: string, logger: Logger): Promise<(() => Promise<void>) | undefined> {
  mkdirSync(paths.dataDir, { recursive: true });
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

type Pending = { resolve: (value: unknown) => void; reject: (err: Error) => void };

const workerUrl = new URL(`./engine-worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url);

/** A PGlite engine in a worker thread. */
export class EngineWorker {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private dead: Error | undefined;
  readonly ready: Promise<void>;
  /** Host mode: resolves with the reason when the host should stop (idle, data directory gone). */
  readonly ended: Promise<string>;
  /** Resolves once the worker thread is gone: only then may another engine open the same files. */
  readonly exited: Promise<void>;

  constructor(options: { dataDir: string; mode: 'direct' | 'host'; socketPath?: string; maxConnections?: number; idleMs?: number }) {
    this.worker = new Worker(workerUrl, { workerData: options });
    this.exited = new Promise((resolve) => this.worker.once('exit', () => resolve()));
    let end: (reason: string) => void;
    this.ended = new Promise((resolve) => (end = resolve));
    this.ready = new Promise((resolve, reject) => {
      this.worker.on('message', (msg: { type?: string; id?: number; ok?: boolean; result?: unknown; reason?: string; error?: { message: string } & Record<string, unknown> }) => {
        if (msg.type === 'ready') return resolve();
        if (msg.type === 'ended') return end(msg.reason ?? 'ended');
        if (msg.type === 'fatal') {
          this.dead = new TwlError('TWL_STORE_FAILED', `Cannot open the embedded store at ${options.dataDir}: ${msg.error?.message}`);
          return reject(this.dead);
        }
        const pending = msg.id === undefined ? undefined : this.pending.get(msg.id);
        if (!pending) return;
        this.pending.delete(msg.id!);
        if (msg.ok) pending.resolve(msg.result);
        else pending.reject(Object.assign(new Error(msg.error?.message ?? 'query failed'), msg.error));
      });
      this.worker.on('error', (err) => {
        this.fail(new TwlError('TWL_STORE_FAILED', `The embedded store engine failed: ${err.message}`, { cause: err }));
        reject(this.dead);
      });
      this.worker.on('exit', () => {
        this.fail(new TwlError('TWL_STORE_FAILED', 'The embedded store engine has stopped.'));
        end('the engine stopped');
      });
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

  request<T>(message: Record<string, unknown>): Promise<T> {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage({ id, ...message });
    });
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

  private static async start(dataDir: string): Promise<EngineWorker> {
    const engine = new EngineWorker({ dataDir, mode: 'direct' });
    try {
      await engine.ready;
    } catch (err) {
      await engine.close();
      throw err;
    }
    return engine;
  }

  static async open(paths: EmbeddedPaths, release: () => Promise<void>): Promise<EmbeddedStore> {
    try {
      return new EmbeddedStore(await EmbeddedStore.start(paths.dataDir), paths.dataDir, release);
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
        this.engine = await EmbeddedStore.start(this.location);
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
): Promise<{ publish: () => void; stop: () => Promise<void>; ended: Promise<string> }> {
  mkdirSync(paths.bootDir, { recursive: true });
  for (const stale of [paths.socketPath, paths.bootSocketPath]) rmSync(stale, { force: true });
  const engine = new EngineWorker({ dataDir: paths.dataDir, mode: 'host', socketPath: paths.bootSocketPath, maxConnections: 64, idleMs: options.idleMs });
  try {
    await engine.ready;
  } catch (err) {
    await engine.close();
    await release();
    throw err;
  }
  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      await engine.close();
      for (const socket of [paths.socketPath, paths.bootSocketPath]) rmSync(socket, { force: true });
      await release();
    })());
  const publish = () => {
    renameSync(paths.bootSocketPath, paths.socketPath);
    logger.info({ socket: paths.socketPath }, 'hosting the embedded store');
  };
  return { publish, stop, ended: engine.ended };
}
