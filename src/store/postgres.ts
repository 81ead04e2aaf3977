import type { EventEmitter } from 'node:events';
import type { Client as PgClient, Pool, PoolClient, PoolConfig } from 'pg';
import { TwlError, messageOf } from '../runtime/errors.js';
import type { Logger } from '../runtime/logger.js';
import { redactText } from '../runtime/redact.js';
import { abortion, type QueryResult, type Queryable, type Store, type StoreBackend, type TransactionOptions } from './types.js';

/**
 * Socket errors, and the SQLSTATEs a server sends when it goes away under a session: 57P01
 * admin shutdown (pg_ctl stop, also -m immediate), 57P02 crash of another backend, 57P03
 * cannot connect now (starting up, shutting down, in recovery after a crash); plus a missing
 * database and failed authentication, which also leave twl without its store.
 */
const connectionErrors = new Set(['ECONNREFUSED', 'ENOTFOUND', 'ETIMEDOUT', 'ECONNRESET', 'ECONNABORTED', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOENT', 'EAI_AGAIN', '57P01', '57P02', '57P03', '3D000', '28P01', '28000']);

/** What node-postgres says, without a code, about a connection that died or never opened. */
const connectionMessages = /timeout exceeded when trying to connect|Connection terminated|is not queryable/i;

/** True when an error means the server could not be reached (as opposed to a failing statement). */
export const isConnectionError = (err: unknown): boolean => {
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && (connectionErrors.has(code) || code.startsWith('08'))) return true; // 08: connection exception class
  return connectionMessages.test(messageOf(err));
};

/** The statement-timeout and the query-cancel SQLSTATEs. */
const isTimeout = (err: unknown): boolean => (err as { code?: string }).code === '57014';

const wrap = (client: Pick<PoolClient, 'query'>): Queryable => ({
  query: async <R>(sql: string, params?: unknown[]) => {
    const res = await client.query({ text: sql, values: params ?? [] });
    return { rows: res.rows as R[], fields: res.fields.map((f) => ({ name: f.name, dataTypeID: f.dataTypeID })), rowCount: res.rowCount ?? res.rows.length };
  },
  exec: async (sql: string) => {
    await client.query(sql);
  },
});

/**
 * Cancels what a pooled connection is running, as psql's Ctrl-C does: a CancelRequest (the
 * backend's pid and secret key, over a new connection), which needs no privilege, unlike
 * pg_cancel_backend(). node-postgres's Client.cancel sends it, in plain text even when the session
 * uses TLS (as libpq did before PostgreSQL 17; a server that only speaks direct TLS refuses it);
 * the server closes the connection once the request is read. Failures are logged, never thrown:
 * the statement still ends at its statement_timeout.
 */
function cancelOnServer(Client: typeof PgClient, config: PoolConfig, logger: Logger): (client: PoolClient) => Promise<void> {
  return (client) => {
    const running = client as PoolClient & { activeQuery?: unknown; processID?: number | null };
    if (!running.activeQuery || !running.processID) return Promise.resolve();
    const canceller = new Client(config) as InstanceType<typeof Client> & { connection: EventEmitter & { end(): void }; cancel(client: PoolClient, query: unknown): void };
    return new Promise<void>((resolve) => {
      // Sent once the server closes the connection (it does after reading the request); bounded, for a server that stopped answering.
      const bound = setTimeout(() => {
        logger.warn('no answer to the cancel of an abandoned statement within 5 s; it runs to its statement_timeout');
        canceller.connection.end();
        resolve();
      }, 5000);
      bound.unref();
      const settle = () => {
        clearTimeout(bound);
        resolve();
      };
      canceller.connection.once('end', settle);
      canceller.connection.on('error', (err: Error) => {
        logger.warn({ err: redactText(err.message) }, 'could not cancel an abandoned statement on the server; it runs to its statement_timeout');
        settle();
      });
      canceller.cancel(client, running.activeQuery);
    });
  };
}

/** PostgreSQL through a `pg` pool: a real server, or the embedded store hosted on a socket. */
export class PgStore implements Store {
  abandoned = false;

  private constructor(
    private readonly pool: Pool,
    readonly backend: StoreBackend,
    readonly location: string,
    private readonly onClose?: () => Promise<void>,
    /** How a statement this process stops waiting for is cancelled on the server (PostgreSQL only). */
    private readonly canceller?: (client: PoolClient) => Promise<void>,
  ) {}

  /** Cancels on their way: close() waits for them, so a command that ends at once still cancels. */
  private readonly cancelling = new Set<Promise<void>>();

  static async connect(config: PoolConfig, backend: StoreBackend, location: string, logger: Logger, onClose?: () => Promise<void>): Promise<PgStore> {
    const { default: pg } = await import('pg');
    const pool = new pg.Pool({ connectionTimeoutMillis: 5000, idleTimeoutMillis: 10_000, allowExitOnIdle: true, ...config });
    pool.on('error', (err) => logger.warn({ err: redactText(err.message) }, 'idle database connection failed'));
    const store = new PgStore(pool, backend, location, onClose, backend === 'postgres' ? cancelOnServer(pg.Client, config, logger) : undefined);
    try {
      const client = await pool.connect();
      client.release();
    } catch (err) {
      await pool.end().catch(() => undefined);
      throw store.unavailable(err);
    }
    return store;
  }

  unavailable(err: unknown): TwlError {
    return new TwlError('TWL_STORE_UNAVAILABLE', `PostgreSQL at ${this.location} is unreachable: ${redactText(messageOf(err))}`, { cause: err });
  }

  private mapError(err: unknown): unknown {
    if (err instanceof TwlError) return err;
    if (isConnectionError(err)) return this.unavailable(err);
    return err;
  }

  async query<R = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<QueryResult<R>> {
    try {
      return await wrap(this.pool).query<R>(sql, params);
    } catch (err) {
      throw this.mapError(err);
    }
  }

  async exec(sql: string): Promise<void> {
    try {
      await this.pool.query(sql);
    } catch (err) {
      throw this.mapError(err);
    }
  }

  async transaction<T>(fn: (tx: Queryable) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
    let client: PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw this.mapError(err);
    }
    const tx = wrap(client);
    let timer: NodeJS.Timeout | undefined;
    let broken = false;
    // A connection lost while this transaction holds it between statements (the server killed or
    // restarted while fn awaits something else) is emitted as an 'error' event on the client, which
    // the pool only listens to while the client is idle: unheard, it would end the process.
    let onLost: (err: Error) => void = () => undefined;
    const lost = new Promise<never>((_, reject) => {
      onLost = (err) => {
        broken = true;
        reject(err);
      };
    });
    client.on('error', onLost);
    // The server enforces statement_timeout; the client-side timer covers servers that
    // cannot (the embedded host) and a connection that stops answering.
    const timedOut = new Promise<never>((_, reject) => {
      if (!options.timeoutMs) return;
      timer = setTimeout(() => {
        broken = true;
        reject(new TwlError('TWL_TIMEOUT', `Statement timed out after ${options.timeoutMs} ms.`));
      }, options.timeoutMs + (this.backend === 'postgres' ? 1000 : 0));
    });
    const work = (async () => {
      await tx.exec(options.readOnly ? 'BEGIN READ ONLY' : 'BEGIN');
      try {
        if (options.timeoutMs) await tx.exec(`SET LOCAL statement_timeout = ${Math.max(1, Math.round(options.timeoutMs))}`);
        const result = await fn(tx);
        await tx.exec('COMMIT');
        return result;
      } catch (err) {
        if (!broken) await tx.exec('ROLLBACK').catch(() => undefined);
        throw err;
      }
    })();
    const interrupt = abortion(options.signal, () => (broken = true));
    try {
      return await Promise.race([work, timedOut, interrupt.promise, lost]);
    } catch (err) {
      if (isTimeout(err)) throw new TwlError('TWL_TIMEOUT', `Statement timed out after ${options.timeoutMs} ms (cancelled by the server).`, { cause: err });
      throw this.mapError(err);
    } finally {
      clearTimeout(timer);
      client.off('error', onLost);
      interrupt.dispose();
      work.catch(() => undefined);
      // A statement abandoned (interrupted, or past the client-side timer) is cancelled on the
      // server: closing its connection alone leaves the server running it to its statement_timeout.
      const cancel = broken ? this.canceller?.(client) : undefined;
      if (cancel) {
        this.cancelling.add(cancel);
        void cancel.then(() => this.cancelling.delete(cancel));
      }
      // A connection abandoned mid-statement is destroyed, not reused (the embedded host then stops the statement).
      client.release(broken ? new Error('abandoned after a timeout') : undefined);
      if (broken && this.backend === 'embedded-host') this.abandoned = true;
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.cancelling);
    await this.pool.end().catch(() => undefined);
    await this.onClose?.();
  }
}
