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
}

export type StoreBackend = 'embedded' | 'embedded-host' | 'postgres';

export interface Store extends Queryable {
  readonly backend: StoreBackend;
  /** The data directory or the redacted connection URL. */
  readonly location: string;
  /** Runs `fn` on one connection inside a transaction: committed if it returns, rolled back if it throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>, options?: TransactionOptions): Promise<T>;
  close(): Promise<void>;
}
