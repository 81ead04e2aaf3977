import { Worker } from 'node:worker_threads';
import { TwlError } from '../../runtime/errors.js';
import type { Logger } from '../../runtime/logger.js';

const workerUrl = new URL(`./pglite-worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url);

type Reply = { type?: string; id?: number; ok?: boolean; result?: unknown; message?: string; error?: { message: string; code?: unknown } };

/**
 * A PGlite of the backup agent's own, in a worker thread: in memory (no data directory), or
 * on a fresh data directory for a restore. Never twl's live store: that one belongs to its
 * lock holder or host.
 */
export class ScratchPglite {
  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private nextId = 1;
  private dead: Error | undefined;
  private readonly ready: Promise<void>;
  private readonly onAbort: () => void;

  private constructor(
    dataDir: string | undefined,
    logger: Logger,
    private readonly signal?: AbortSignal,
  ) {
    this.worker = new Worker(workerUrl, { workerData: { dataDir } });
    this.ready = new Promise((resolve, reject) => {
      this.worker.on('message', (msg: Reply) => {
        if (msg.type === 'ready') return resolve();
        if (msg.type === 'log') return logger.debug({ pglite: msg.message }, 'scratch database said');
        if (msg.type === 'fatal') {
          this.fail(new TwlError('TWL_BACKUP_FAILED', `Cannot start a scratch PGlite${dataDir ? ` in ${dataDir}` : ''}: ${msg.error?.message}`));
          return reject(this.dead);
        }
        const p = msg.id === undefined ? undefined : this.pending.get(msg.id);
        if (!p) return;
        this.pending.delete(msg.id!);
        if (msg.ok) p.resolve(msg.result);
        else p.reject(Object.assign(new Error(msg.error?.message ?? 'failed'), { code: msg.error?.code }));
      });
      this.worker.on('error', (err) => {
        this.fail(new TwlError('TWL_BACKUP_FAILED', `The scratch PGlite failed: ${err.message}`, { cause: err }));
        reject(this.dead);
      });
      this.worker.on('exit', () => {
        this.fail(new TwlError('TWL_BACKUP_FAILED', 'The scratch PGlite stopped.'));
        reject(this.dead);
      });
    });
    this.ready.catch(() => undefined);
    // PGlite cannot cancel a statement: an interruption ends the worker, and the pending call with it.
    this.onAbort = () => {
      this.fail(new TwlError('TWL_INTERRUPTED', 'Interrupted: the backup work was stopped.'));
      void this.worker.terminate();
    };
    if (signal?.aborted) this.onAbort();
    else signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  /** In memory when dataDir is undefined. */
  static async start(logger: Logger, options: { dataDir?: string; signal?: AbortSignal } = {}): Promise<ScratchPglite> {
    const db = new ScratchPglite(options.dataDir, logger, options.signal);
    try {
      await db.ready;
    } catch (err) {
      await db.close();
      throw err;
    }
    return db;
  }

  private fail(err: Error): void {
    this.dead ??= err;
    for (const p of this.pending.values()) p.reject(this.dead);
    this.pending.clear();
  }

  private request<T>(message: Record<string, unknown>): Promise<T> {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage({ id, ...message });
    });
  }

  query<R = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<{ rows: R[]; rowCount: number }> {
    return this.request({ type: 'query', sql, params });
  }

  exec(sql: string): Promise<void> {
    return this.request({ type: 'exec', sql });
  }

  /** Runs a SQL script file (a dump) in one go. */
  execFile(path: string): Promise<void> {
    return this.request({ type: 'execFile', path });
  }

  /** PGlite's pg_dump of the whole database, as a plain SQL script, into `path`. */
  dump(path: string): Promise<{ bytes: number }> {
    return this.request({ type: 'dump', path });
  }

  async close(): Promise<void> {
    this.signal?.removeEventListener('abort', this.onAbort);
    if (!this.dead) await this.request({ type: 'close' }).catch(() => undefined);
    await this.worker.terminate();
  }
}
