import { TwlError, messageOf } from '../../runtime/errors.js';

/**
 * The first half of the read-only guard (docs/sql-guard.md): decides, before anything
 * reaches a server, whether SQL is one read-only statement, and collects what it names that
 * runs code (functions, operators, casts). It uses PostgreSQL's own parser (libpg-query), so
 * comments, quoting, dollar quotes and odd spacing cannot hide a second statement or a write.
 * The second half (function-check.ts) resolves those names in the target's catalog and allows
 * only functions known safe; the read-only transaction, rolled back after every query, is
 * the last line of defence, not the first.
 */

export type ReadKind = 'SELECT' | 'VALUES' | 'EXPLAIN' | 'SHOW';

export interface Verdict {
  kind: ReadKind;
  /** The statement's own text, without a trailing semicolon. */
  statement: string;
  /** Whether it can run behind a cursor (so only the first `limit` rows are fetched). */
  cursorable: boolean;
  /** The functions, operators and types the statement names, for the catalog check before it runs. */
  refs: References;
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

/**
 * Functions that evaluate SQL text given to them as a string (or open other connections that
 * do): whatever the parse tree shows, they can run anything. Refused wherever they appear, by
 * name and in any schema, before anything reaches the server; the catalog check
 * (function-check.ts) refuses them again by resolved OID.
 */
export const sqlEvaluating = /^(?:query_to_xml(?:schema|_and_xmlschema)?|cursor_to_xml(?:schema)?|(?:table|schema|database)_to_xml(?:schema|_and_xmlschema)?|ts_stat|ts_rewrite|dblink\w*)$/;

const writeNodes = new Set(['InsertStmt', 'UpdateStmt', 'DeleteStmt', 'MergeStmt']);

const refuse = (why: string): never => {
  throw new TwlError('TWL_SQL_REFUSED', `Refused: ${why}. Nothing was sent to the server.`);
};

/**
 * Visits every node of the parse tree, without recursion: a deeply nested expression must not
 * overflow the stack (libpg-query's own parser has a depth limit; this walk has none).
 */
function walk(root: unknown, visit: (type: string, body: Node) => void): void {
  const stack: unknown[] = [root];
  while (stack.length) {
    const node = stack.pop();
    if (Array.isArray(node)) {
      for (let i = node.length - 1; i >= 0; i--) stack.push(node[i]);
      continue;
    }
    if (!node || typeof node !== 'object') continue;
    for (const [key, value] of Object.entries(node as Node)) {
      if (/^[A-Z]/.test(key) && value && typeof value === 'object' && !Array.isArray(value)) visit(key, value as Node);
      if (value && typeof value === 'object') stack.push(value);
    }
  }
}

/** A possibly schema-qualified name, as the parser spelled it (quoted names keep their case). */
export interface QualifiedName {
  schema: string | null;
  name: string;
}

/**
 * What the statement's text refers to that runs code, for the catalog check: functions called
 * (including TABLESAMPLE methods), names that may be functions called in attribute notation
 * (`t.f` is `f(t)` when t has no column f), operators named (explicitly, in ORDER BY … USING, or
 * implied by BETWEEN, IN, LIKE, CASE, ANY/ALL, NULLIF, IS DISTINCT FROM), types named anywhere
 * (casts, column definition lists of functions returning records, XMLTABLE columns: a value
 * becomes one through the type's input function and domain checks), and relations read (a view
 * runs what its definition calls, a table with row-level security its policies).
 */
export interface References {
  functions: QualifiedName[];
  attributes: string[];
  operators: QualifiedName[];
  types: Array<QualifiedName & { array: boolean }>;
  relations: QualifiedName[];
}

const strings = (list: unknown): string[] =>
  ((list as Array<{ String?: { sval?: string } }> | undefined) ?? []).map((item) => item.String?.sval).filter((s): s is string => typeof s === 'string');

const qualified = (list: unknown): QualifiedName => {
  const parts = strings(list);
  // catalog.schema.name: the catalog is the current database or an error; the schema decides.
  return { schema: parts.length > 1 ? parts.at(-2)! : null, name: parts.at(-1) ?? '' };
};

/** The operators an A_Expr uses: its own name, or `>=` and `<=` for the BETWEEN family. */
const operatorsOf = (body: Node): QualifiedName[] => {
  const name = qualified(body.name);
  return /BETWEEN/.test(String(body.kind)) ? [{ schema: null, name: '>=' }, { schema: null, name: '<=' }] : [name];
};

function checkTree(tree: unknown): References {
  const refs: References = { functions: [], attributes: [], operators: [], types: [], relations: [] };
  walk(tree, (type, body) => {
    if (writeNodes.has(type)) refuse(`it contains ${verbOf(type)} (a data-modifying WITH clause), which writes`);
    if (type === 'SelectStmt' && body.intoClause) refuse('SELECT … INTO creates a table');
    if (type === 'SelectStmt' && body.lockingClause) refuse('SELECT … FOR UPDATE/SHARE takes row locks');
    if (type === 'FuncCall') {
      const fn = qualified(body.funcname);
      if (sqlEvaluating.test(fn.name)) refuse(`it calls ${fn.name}(), which evaluates SQL text it is given`);
      refs.functions.push(fn);
    }
    if (type === 'RangeTableSample') refs.functions.push(qualified(body.method));
    if (type === 'A_Expr') refs.operators.push(...operatorsOf(body));
    if (type === 'SubLink' && body.operName) refs.operators.push(qualified(body.operName));
    if (type === 'SortBy' && body.useOp) refs.operators.push(qualified(body.useOp));
    if (type === 'CaseExpr' && body.arg) refs.operators.push({ schema: null, name: '=' });
    if (type === 'ColumnRef') {
      const fields = strings(body.fields);
      if (fields.length > 1) refs.attributes.push(fields.at(-1)!);
    }
    if (type === 'A_Indirection') refs.attributes.push(...strings(body.indirection));
    // Every type named, wherever: a cast, a column definition list (`f() AS x(d some_domain)`),
    // XMLTABLE columns, XMLSERIALIZE, a TypeName node of its own.
    const typeName = (type === 'TypeName' ? body : body.typeName) as Node | undefined;
    if (typeName && typeof typeName === 'object' && Array.isArray(typeName.names)) {
      refs.types.push({ ...qualified(typeName.names), array: Array.isArray(typeName.arrayBounds) && typeName.arrayBounds.length > 0 });
    }
    // A relation read (or a CTE's name, which the catalog check finds no relation for).
    if (type === 'RangeVar') refs.relations.push({ schema: typeof body.schemaname === 'string' ? body.schemaname : null, name: String(body.relname ?? '') });
  });
  return refs;
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
  const refs = checkTree(stmt);
  const bytes = Buffer.from(sql, 'utf8');
  const statement = (len ? bytes.subarray(start, start + len) : bytes.subarray(start)).toString('utf8').trim().replace(/;\s*$/, '');
  return { kind, statement, cursorable: type === 'SelectStmt', refs };
}
