import { TwlError, messageOf } from '../../runtime/errors.js';

/**
 * Decides, before anything reaches a server, whether SQL is one read-only statement.
 * It uses PostgreSQL's own parser (libpg-query), so comments, quoting, dollar quotes and
 * odd spacing cannot hide a second statement or a write. The read-only transaction the
 * query then runs in is the second line of defence, not the first.
 */

export type ReadKind = 'SELECT' | 'VALUES' | 'EXPLAIN' | 'SHOW';

export interface Verdict {
  kind: ReadKind;
  /** The statement's own text, without a trailing semicolon. */
  statement: string;
  /** Whether it can run behind a cursor (so only the first `limit` rows are fetched). */
  cursorable: boolean;
}

type Node = Record<string, unknown>;

const verbs: Record<string, string> = {
  InsertStmt: 'INSERT',
  UpdateStmt: 'UPDATE',
  DeleteStmt: 'DELETE',
  MergeStmt: 'MERGE',
  DropStmt: 'DROP',
  TruncateStmt: 'TRUNCATE',
  CreateStmt: 'CREATE TABLE',
  CreateTableAsStmt: 'CREATE TABLE AS',
  AlterTableStmt: 'ALTER TABLE',
  IndexStmt: 'CREATE INDEX',
  GrantStmt: 'GRANT/REVOKE',
  VariableSetStmt: 'SET',
  TransactionStmt: 'a transaction command',
  CopyStmt: 'COPY',
  DoStmt: 'DO',
  CallStmt: 'CALL',
  VacuumStmt: 'VACUUM/ANALYZE',
  LockStmt: 'LOCK',
  NotifyStmt: 'NOTIFY',
  ListenStmt: 'LISTEN',
  PrepareStmt: 'PREPARE',
  ExecuteStmt: 'EXECUTE',
  DeclareCursorStmt: 'DECLARE CURSOR',
  RenameStmt: 'ALTER … RENAME',
  RefreshMatViewStmt: 'REFRESH MATERIALIZED VIEW',
};

/** `CreateFunctionStmt` → `CREATE FUNCTION`. */
export const verbOf = (type: string): string =>
  verbs[type] ??
  type
    .replace(/Stmt$/, '')
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .toUpperCase();

/** Functions with side effects that a read-only transaction does not stop (or stops with an obscure message). */
const deniedFunctions = new Set([
  'pg_terminate_backend', 'pg_cancel_backend', 'pg_reload_conf', 'pg_rotate_logfile', 'pg_log_backend_memory_contexts',
  'set_config', 'pg_notify', 'nextval', 'setval',
  'pg_advisory_lock', 'pg_advisory_lock_shared', 'pg_try_advisory_lock', 'pg_try_advisory_lock_shared',
  'pg_advisory_xact_lock', 'pg_advisory_xact_lock_shared', 'pg_try_advisory_xact_lock', 'pg_try_advisory_xact_lock_shared',
  'pg_read_file', 'pg_read_binary_file', 'pg_ls_dir', 'pg_stat_file', 'lo_import', 'lo_export', 'lo_unlink', 'lo_create', 'lo_from_bytea', 'lo_put',
  'pg_switch_wal', 'pg_create_restore_point', 'pg_promote', 'pg_start_backup', 'pg_stop_backup', 'pg_backup_start', 'pg_backup_stop',
  'pg_create_logical_replication_slot', 'pg_create_physical_replication_slot', 'pg_drop_replication_slot', 'pg_replication_origin_create',
  'dblink', 'dblink_exec', 'dblink_connect', 'dblink_send_query', 'query_to_xml', 'pg_file_write', 'pg_file_unlink', 'pg_file_rename',
]);

const writeNodes = new Set(['InsertStmt', 'UpdateStmt', 'DeleteStmt', 'MergeStmt']);

const refuse = (why: string): never => {
  throw new TwlError('TWL_SQL_REFUSED', `Refused: ${why}. Nothing was sent to the server.`);
};

/** Walks every node of the parse tree. */
function walk(node: unknown, visit: (type: string, body: Node) => void): void {
  if (Array.isArray(node)) {
    for (const item of node) walk(item, visit);
    return;
  }
  if (!node || typeof node !== 'object') return;
  for (const [key, value] of Object.entries(node as Node)) {
    if (/^[A-Z]/.test(key) && value && typeof value === 'object' && !Array.isArray(value)) visit(key, value as Node);
    walk(value, visit);
  }
}

const funcName = (body: Node): string => {
  const parts = (body.funcname as Array<{ String?: { sval?: string } }> | undefined) ?? [];
  return parts.at(-1)?.String?.sval?.toLowerCase() ?? '';
};

function checkTree(tree: unknown): void {
  walk(tree, (type, body) => {
    if (writeNodes.has(type)) refuse(`it contains ${verbOf(type)} (a data-modifying WITH clause), which writes`);
    if (type === 'SelectStmt' && body.intoClause) refuse('SELECT … INTO creates a table');
    if (type === 'SelectStmt' && body.lockingClause) refuse('SELECT … FOR UPDATE/SHARE takes row locks');
    if (type === 'FuncCall' && deniedFunctions.has(funcName(body))) refuse(`it calls ${funcName(body)}(), which has side effects`);
  });
}

function kindOf(type: string, body: Node): ReadKind {
  if (type === 'SelectStmt') return body.valuesLists ? 'VALUES' : 'SELECT';
  if (type === 'VariableShowStmt') return 'SHOW';
  if (type === 'ExplainStmt') {
    const inner = body.query as Node | undefined;
    const innerType = inner ? Object.keys(inner)[0]! : '';
    if (innerType !== 'SelectStmt') refuse(`EXPLAIN of ${verbOf(innerType)}${(body.options as unknown[] | undefined)?.length ? ' (with ANALYZE it would run it)' : ''} is not allowed`);
    return 'EXPLAIN';
  }
  return refuse(`this is ${verbOf(type)}, which is not a read-only query`);
}

interface Parsed {
  stmts?: Array<{ stmt: Node; stmt_location?: number; stmt_len?: number }>;
}

export async function guardSql(sql: string): Promise<Verdict> {
  const { parse } = await import('libpg-query');
  let parsed: Parsed;
  try {
    parsed = (await parse(sql)) as Parsed;
  } catch (err) {
    const position = (err as { sqlDetails?: { cursorPosition?: number } }).sqlDetails?.cursorPosition;
    throw new TwlError('TWL_SQL_INVALID', `The SQL does not parse: ${messageOf(err)}${position !== undefined ? ` (at character ${position + 1})` : ''}.`);
  }
  const stmts = parsed.stmts ?? [];
  if (stmts.length === 0) throw new TwlError('TWL_SQL_INVALID', 'The SQL holds no statement.');
  if (stmts.length > 1) {
    const kinds = stmts.map((s) => verbOf(Object.keys(s.stmt)[0]!)).join(', ');
    refuse(`the SQL holds ${stmts.length} statements (${kinds}); send one at a time`);
  }
  const { stmt, stmt_location: start = 0, stmt_len: len = 0 } = stmts[0]!;
  const type = Object.keys(stmt)[0]!;
  const body = stmt[type] as Node;
  const kind = kindOf(type, body);
  checkTree(stmt);
  const bytes = Buffer.from(sql, 'utf8');
  const statement = (len ? bytes.subarray(start, start + len) : bytes.subarray(start)).toString('utf8').trim().replace(/;\s*$/, '');
  return { kind, statement, cursorable: type === 'SelectStmt' };
}
