import { TwlError } from '../runtime/errors.js';

export interface Field {
  name: string;
  dataTypeID: number;
}

export interface QueryResult<R = Record<string, unknown>> {
  rows: R[];
  fields: Field[];
  rowCount: number;
}

export interface Queryable {
  /** One statement, with `$1…` bind parameters. */
  query<R = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<QueryResult<R>>;
  /** A script of several statements, no parameters (migrations). */
  exec(sql: string): Promise<void>;
}

export interface TransactionOptions {
  readOnly?: boolean;
  /** Abort the transaction and fail with TWL_TIMEOUT after this long. */
  timeoutMs?: number;
  /** Abort the transaction (TWL_INTERRUPTED) when this fires: Ctrl-C, an MCP cancellation. */
  signal?: AbortSignal;
}

/** A promise that rejects with TWL_INTERRUPTED when the signal fires (never, without one), and its cleanup. */
export function abortion(signal: AbortSignal | undefined, onAbort: () => void): { promise: Promise<never>; dispose: () => void } {
  if (!signal) return { promise: new Promise<never>(() => undefined), dispose: () => undefined };
  let listener = () => undefined as void;
  const promise = new Promise<never>((_, reject) => {
    listener = () => {
      onAbort();
      reject(new TwlError('TWL_INTERRUPTED', 'Interrupted: the statement was stopped.'));
    };
    if (signal.aborted) listener();
    else signal.addEventListener('abort', listener, { once: true });
  });
  return { promise, dispose: () => signal.removeEventListener('abort', listener) };
}

export type StoreBackend = 'embedded' | 'embedded-host' | 'postgres';

export interface Store extends Queryable {
  readonly backend: StoreBackend;
  /** The data directory or the redacted connection URL. */
  readonly location: string;
  /** Runs `fn` on one connection inside a transaction: committed if it returns, rolled back if it throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>, options?: TransactionOptions): Promise<T>;
  /**
   * True once this process abandoned a statement on the embedded store's host (timeout,
   * interruption): the host is replacing its engine, and a new statement would wait for it.
   */
  readonly abandoned?: boolean;
  close(): Promise<void>;
}
