import { TwlError } from '../../runtime/errors.js';
import type { Field, Queryable, Store } from '../../store/types.js';
import type { ReadKind, Verdict } from './sql-guard.js';

/** Names of the common type OIDs; others are looked up in pg_type. */
const typeNames: Record<number, string> = {
  16: 'boolean', 17: 'bytea', 18: 'char', 19: 'name', 20: 'bigint', 21: 'smallint', 23: 'integer', 25: 'text', 26: 'oid',
  114: 'json', 700: 'real', 701: 'double precision', 869: 'inet', 1042: 'character', 1043: 'character varying', 1082: 'date',
  1083: 'time without time zone', 1114: 'timestamp without time zone', 1184: 'timestamp with time zone', 1186: 'interval',
  1700: 'numeric', 2278: 'void', 2950: 'uuid', 3802: 'jsonb', 1009: 'text[]', 1007: 'integer[]', 1016: 'bigint[]',
};

async function resolveTypes(store: Queryable, fields: Field[]): Promise<Array<{ name: string; type: string }>> {
  const unknown = [...new Set(fields.map((f) => f.dataTypeID).filter((id) => !(id in typeNames)))];
  const extra = new Map<number, string>();
  if (unknown.length) {
    const { rows } = await store.query<{ oid: number; name: string }>('SELECT oid::int AS oid, format_type(oid, NULL) AS name FROM pg_type WHERE oid = ANY($1::oid[])', [unknown]);
    for (const r of rows) extra.set(r.oid, r.name);
  }
  return fields.map((f) => ({ name: f.name, type: typeNames[f.dataTypeID] ?? extra.get(f.dataTypeID) ?? `oid ${f.dataTypeID}` }));
}

/** Makes a driver value safe for JSON: dates as ISO text, bytes as \x hex, big integers as text. */
export function jsonSafe(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? String(value) : value.toISOString();
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Uint8Array) return `\\x${Buffer.from(value).toString('hex')}`;
  if (Array.isArray(value)) return value.map(jsonSafe);
  if (typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, jsonSafe(v)]));
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  return value;
}

export interface QueryOutcome {
  kind: ReadKind;
  columns: Array<{ name: string; type: string }>;
  rows: Array<Record<string, unknown>>;
  rowCount: number;
  /** More rows exist than the row limit, or the rows did not fit in the byte cap. */
  truncated: boolean;
  /** What cut the result short: null when nothing did. */
  truncatedBy: 'rows' | 'bytes' | null;
  durationMs: number;
}

export interface ReadOnlyOptions {
  limit: number;
  /** Stop returning rows once their text form adds up to more than this many bytes. */
  maxBytes: number;
  timeoutMs: number;
  /** A role to run as (SET LOCAL ROLE) on PostgreSQL: database.readOnlyRole. */
  role?: string;
  signal?: AbortSignal;
}

/** Carries the result out of the transaction so that it is rolled back, never committed. */
class Finished<T> extends Error {
  constructor(readonly value: T) {
    super('finished: rolled back on purpose');
  }
}

const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`;

async function assumeRole(tx: Queryable, role: string): Promise<void> {
  const { rows } = await tx.query<{ member: boolean }>('SELECT pg_has_role(current_user, oid, \'MEMBER\') AS member FROM pg_roles WHERE rolname = $1', [role]);
  if (!rows.length) throw new TwlError('TWL_CONFIG_INVALID', `database.readOnlyRole names the role "${role}", which does not exist on this server. Create it (see docs/sql-guard.md for the grants) or unset database.readOnlyRole.`);
  if (!rows[0]!.member) throw new TwlError('TWL_CONFIG_INVALID', `database.readOnlyRole names the role "${role}", but the connecting user is not a member of it: GRANT ${quoteIdent(role)} TO the user twl connects as (see docs/sql-guard.md).`);
  await tx.exec(`SET LOCAL ROLE ${quoteIdent(role)}`);
}

interface AdvisoryLock {
  classid: string;
  objid: string;
  objsubid: number;
  mode: string;
}

const advisorySql = `SELECT classid::text AS classid, objid::text AS objid, objsubid::int AS objsubid, mode FROM pg_locks
  WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND granted`;
const lockKey = (l: AdvisoryLock) => `${l.classid}/${l.objid}/${l.objsubid}/${l.mode}`;

/**
 * Releases session-level advisory locks taken since \`before\` (the rollback releases
 * transaction-level ones, not these). Each key is unlocked until it is no longer held, since a
 * session lock can be taken several times. Locks the session held before are left alone (the
 * embedded host's one session is shared with other clients).
 */
async function releaseNewAdvisoryLocks(tx: Queryable, before: Set<string>): Promise<void> {
  const { rows } = await tx.query<AdvisoryLock>(advisorySql);
  for (const lock of rows.filter((l) => !before.has(lockKey(l)))) {
    const shared = lock.mode === 'ShareLock' ? '_shared' : '';
    // objsubid 1: one bigint key split in two halves; 2: two int4 keys.
    const [sql, params] =
      lock.objsubid === 1
        ? [`SELECT pg_advisory_unlock${shared}((($1::bigint << 32) | $2::bigint)) AS ok`, [lock.classid, lock.objid]]
        : [`SELECT pg_advisory_unlock${shared}($1::bigint::int4, $2::bigint::int4) AS ok`, [lock.classid, lock.objid]];
    for (let i = 0; i < 10_000; i++) {
      const r = await tx.query<{ ok: boolean }>(sql, params);
      if (!r.rows[0]?.ok) break;
    }
  }
}

/**
 * The query wrapped so that the server measures the rows: each row carries the running total of
 * its text size, and the columns of the rows past the byte cap come back NULL, so no more than
 * about \`maxBytes\` ever leave the server (a single 100 MB value is never sent).
 */
const byteCapped = (statement: string, columns: number, maxBytes: number) => {
  const names = Array.from({ length: columns }, (_, i) => `c${i + 1}`);
  return `SELECT s.twl_bytes, ${names.map((c) => `CASE WHEN s.twl_bytes <= ${maxBytes} THEN s.${c} END AS ${c}`).join(', ')}
  FROM (SELECT q.*, sum(${names.map((c) => `coalesce(octet_length(q.${c}::text), 0)`).join(' + ')}) OVER (ROWS UNBOUNDED PRECEDING) AS twl_bytes
          FROM (\n${statement}\n) AS q(${names.join(', ')})) AS s`;
};

/** The JSON size of a row, as the answer will carry it. */
const sizeOf = (row: unknown) => Buffer.byteLength(JSON.stringify(row));

/**
 * Runs one statement the guard accepted (\`guardSql\`) and the catalog check allows, in a
 * read-only transaction with a timeout, fetching at most \`limit\` rows and about \`maxBytes\`
 * bytes. The transaction is always rolled back, and session-level advisory locks taken in it
 * are released, so the connection is left as it was found: a pooled PostgreSQL connection or
 * the embedded host's single shared session (see docs/sql-guard.md).
 */
export async function runReadOnlyQuery(store: Store, verdict: Verdict, params: unknown[], options: ReadOnlyOptions): Promise<QueryOutcome> {
  const { limit, maxBytes } = options;
  const started = performance.now();
  const { checkFunctions } = await import('./function-check.js');
  let result: { rows: Array<Record<string, unknown>>; fields: Field[]; byBytes: boolean };
  try {
    await store.transaction(
      async (tx) => {
        if (options.role && store.backend === 'postgres') await assumeRole(tx, options.role);
        await checkFunctions(tx, verdict.refs);
        const before = new Set((await tx.query<AdvisoryLock>(advisorySql)).rows.map(lockKey));
        await tx.exec('SAVEPOINT twl_query');
        let outcome: typeof result;
        try {
          outcome = await fetchRows(tx, verdict, params, limit, maxBytes);
        } catch (err) {
          await tx.exec('ROLLBACK TO SAVEPOINT twl_query');
          await releaseNewAdvisoryLocks(tx, before);
          throw err;
        }
        await releaseNewAdvisoryLocks(tx, before);
        throw new Finished(outcome);
      },
      { readOnly: true, timeoutMs: options.timeoutMs, signal: options.signal },
    );
    throw new Error('unreachable: the read-only transaction always ends in a rollback');
  } catch (err) {
    if (!(err instanceof Finished)) throw err;
    result = err.value as typeof result;
  }
  const durationMs = Math.round((performance.now() - started) * 10) / 10;
  const rows: Array<Record<string, unknown>> = [];
  let bytes = 0;
  let byBytes = result.byBytes;
  for (const raw of result.rows.slice(0, limit)) {
    const row = jsonSafe(raw) as Record<string, unknown>;
    bytes += sizeOf(row);
    if (bytes > maxBytes) {
      byBytes = true;
      break;
    }
    rows.push(row);
  }
  const byRows = !byBytes && result.rows.length > limit;
  const truncatedBy = byBytes ? 'bytes' : byRows ? 'rows' : null;
  return { kind: verdict.kind, columns: await resolveTypes(store, result.fields), rows, rowCount: rows.length, truncated: truncatedBy !== null, truncatedBy, durationMs };
}

async function fetchRows(tx: Queryable, verdict: Verdict, params: unknown[], limit: number, maxBytes: number): Promise<{ rows: Array<Record<string, unknown>>; fields: Field[]; byBytes: boolean }> {
  if (!verdict.cursorable) return { ...(await tx.query(verdict.statement, params)), byBytes: false };
  // The statement's columns (names, types) without running it: a cursor, and a fetch of no rows.
  await tx.query(`DECLARE twl_probe NO SCROLL CURSOR FOR ${verdict.statement}\n`, params);
  const { fields } = await tx.query('FETCH FORWARD 0 FROM twl_probe');
  await tx.exec('CLOSE twl_probe');
  if (!fields.length) {
    await tx.query(`DECLARE twl_query NO SCROLL CURSOR FOR ${verdict.statement}\n`, params);
    const r = await tx.query('FETCH FORWARD ' + (limit + 1) + ' FROM twl_query');
    return { rows: r.rows, fields, byBytes: false };
  }
  // Behind a cursor only limit + 1 rows ever leave the server, however large the result.
  await tx.query(`DECLARE twl_query NO SCROLL CURSOR FOR ${byteCapped(verdict.statement, fields.length, maxBytes)}`, params);
  const fetched = await tx.query<Record<string, unknown>>(`FETCH FORWARD ${limit + 1} FROM twl_query`);
  const rows: Array<Record<string, unknown>> = [];
  for (const r of fetched.rows) {
    if (Number(r.twl_bytes) > maxBytes) return { rows, fields, byBytes: true };
    rows.push(Object.fromEntries(fields.map((f, i) => [f.name, r[`c${i + 1}`]])));
  }
  return { rows, fields, byBytes: false };
}

export interface TableInfo {
  schema: string;
  name: string;
  kind: string;
  rowEstimate: number | null;
  sizeBytes: number;
}

export async function listTables(store: Queryable, schema?: string): Promise<TableInfo[]> {
  const { rows } = await store.query<{ schema: string; name: string; kind: string; row_estimate: string | null; size_bytes: string }>(
    `SELECT n.nspname AS schema, c.relname AS name,
            CASE c.relkind WHEN 'r' THEN 'table' WHEN 'p' THEN 'partitioned table' WHEN 'v' THEN 'view'
                           WHEN 'm' THEN 'materialized view' WHEN 'f' THEN 'foreign table' END AS kind,
            CASE WHEN c.reltuples < 0 OR c.relkind IN ('v', 'f') THEN NULL ELSE c.reltuples::bigint END AS row_estimate,
            pg_total_relation_size(c.oid) AS size_bytes
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
        AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%'
        AND ($1::text IS NULL OR n.nspname = $1)
      ORDER BY 1, 2`,
    [schema ?? null],
  );
  return rows.map((r) => ({ schema: r.schema, name: r.name, kind: r.kind, rowEstimate: r.row_estimate === null ? null : Number(r.row_estimate), sizeBytes: Number(r.size_bytes) }));
}

export interface TableDescription {
  schema: string;
  name: string;
  kind: string;
  columns: Array<{ name: string; type: string; nullable: boolean; default: string | null }>;
  indexes: Array<{ name: string; definition: string; unique: boolean; primary: boolean }>;
  rowEstimate: number | null;
  sizeBytes: number;
}

export async function describeTable(store: Queryable, table: string): Promise<TableDescription> {
  let oid: number | undefined;
  try {
    const { rows } = await store.query<{ oid: number | null }>('SELECT to_regclass($1)::oid::int AS oid', [table]);
    oid = rows[0]?.oid ?? undefined;
  } catch {
    oid = undefined; // an unparsable name is just not a table
  }
  const [info] = oid
    ? (
        await store.query<{ schema: string; name: string; relkind: string; row_estimate: string | null; size_bytes: string }>(
          `SELECT n.nspname AS schema, c.relname AS name, c.relkind::text AS relkind,
                  CASE WHEN c.reltuples < 0 THEN NULL ELSE c.reltuples::bigint END AS row_estimate, pg_total_relation_size(c.oid) AS size_bytes
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'f')`,
          [oid],
        )
      ).rows
    : [];
  if (!info) throw new TwlError('TWL_TABLE_NOT_FOUND', `No table or view named "${table}" (names are case-sensitive when quoted; use schema.table for other schemas).`);
  const columns = await store.query<{ name: string; type: string; nullable: boolean; default: string | null }>(
    `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, NOT a.attnotnull AS nullable, pg_get_expr(d.adbin, d.adrelid) AS default
       FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
      WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
    [oid],
  );
  const indexes = await store.query<{ name: string; definition: string; unique: boolean; primary: boolean }>(
    `SELECT c.relname AS name, pg_get_indexdef(i.indexrelid) AS definition, i.indisunique AS unique, i.indisprimary AS primary
       FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = $1 ORDER BY c.relname`,
    [oid],
  );
  const kinds: Record<string, string> = { r: 'table', p: 'partitioned table', v: 'view', m: 'materialized view', f: 'foreign table' };
  return {
    schema: info.schema,
    name: info.name,
    kind: kinds[info.relkind] ?? info.relkind,
    columns: columns.rows,
    indexes: indexes.rows,
    rowEstimate: info.row_estimate === null ? null : Number(info.row_estimate),
    sizeBytes: Number(info.size_bytes),
  };
}

export interface Health {
  reachable: boolean;
  version: string | null;
  latencyMs: number | null;
  sizeBytes: number | null;
  database: string | null;
  connections: number | null;
  maxConnections: number | null;
  error: string | null;
}

export async function databaseHealth(store: Queryable): Promise<Health> {
  const started = performance.now();
  await store.query('SELECT 1');
  const latencyMs = Math.round((performance.now() - started) * 100) / 100;
  const { rows } = await store.query<{ version: string; size: string; database: string; connections: string; max_connections: string }>(
    `SELECT version() AS version, pg_database_size(current_database()) AS size, current_database() AS database,
            (SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()) AS connections,
            current_setting('max_connections') AS max_connections`,
  );
  const r = rows[0]!;
  return { reachable: true, version: r.version, latencyMs, sizeBytes: Number(r.size), database: r.database, connections: Number(r.connections), maxConnections: Number(r.max_connections), error: null };
}
