import { TwlError } from '../../runtime/errors.js';
import type { Queryable } from '../../store/types.js';
import { guardSql, sqlEvaluating, type QualifiedName, type References } from './sql-guard.js';
import { messageOf } from '../../runtime/errors.js';

/**
 * The second half of the read-only guard (docs/sql-guard.md): every function a statement can
 * call, resolved in the target's own catalog by OID, must be known safe. The names the parser
 * found (sql-guard.ts) are matched against pg_proc, pg_operator (their functions), pg_cast and
 * pg_type (casts and input functions), and aggregates are expanded to their support functions.
 * What runs without being named is followed too (`expand`): a view that is not one of
 * PostgreSQL's own runs its definition, a table with row-level security its policies, a domain
 * its CHECK constraints, and a column's domain can be coerced to; all are read back as SQL,
 * parsed, and checked the same way.
 * Overloads are not chosen: every candidate a name could resolve to must be safe (fail closed),
 * and a function or operator name that resolves to nothing is refused.
 */

/**
 * Volatile functions of pg_catalog that only read, wait or draw random numbers: reviewed one by
 * one (the reason is what makes each safe in a read-only query). Nothing else volatile runs.
 */
export const allowedVolatile: Record<string, string> = {
  random: 'draws a random number; the generator state is private to the session and harmless',
  gen_random_uuid: 'draws a random UUID',
  clock_timestamp: 'reads the clock',
  timeofday: 'reads the clock',
  pg_sleep: 'waits; bounded by the statement timeout (used to check timeouts)',
  pg_sleep_for: 'waits; bounded by the statement timeout',
  pg_sleep_until: 'waits; bounded by the statement timeout',
  pg_relation_size: 'reads the size of a relation (volatile only because files grow)',
  pg_total_relation_size: 'reads the size of a relation',
  pg_table_size: 'reads the size of a table',
  pg_indexes_size: 'reads the size of indexes',
  pg_database_size: 'reads the size of a database',
  pg_tablespace_size: 'reads the size of a tablespace',
  pg_is_in_recovery: 'reads the server state',
  pg_current_wal_lsn: 'reads the WAL position',
  pg_current_wal_insert_lsn: 'reads the WAL position',
  pg_current_wal_flush_lsn: 'reads the WAL position',
  pg_last_wal_receive_lsn: 'reads the WAL position',
  pg_last_wal_replay_lsn: 'reads the WAL position',
  pg_last_xact_replay_timestamp: 'reads the replay position',
  pg_lock_status: 'reads the lock table (the pg_locks view)',
  pg_blocking_pids: 'reads the lock table',
  pg_safe_snapshot_blocking_pids: 'reads the lock table',
  pg_notification_queue_usage: 'reads the NOTIFY queue fill',
  pg_jit_available: 'reads a setting',
  pg_partition_tree: 'reads the catalog',
  pg_partition_ancestors: 'reads the catalog',
  bernoulli: 'a TABLESAMPLE method: samples the rows read',
  system: 'a TABLESAMPLE method: samples the pages read',
};

/** Stable (or immutable) functions of pg_catalog that still change something: refused. */
export const deniedStable: Record<string, string> = {
  txid_current: 'assigns a transaction id',
  pg_current_xact_id: 'assigns a transaction id',
};

interface Candidate {
  label: string;
  oid: number;
  schema: string;
  name: string;
  volatility: 'i' | 's' | 'v';
  language: string;
}

/** Why a resolved function may not run, or undefined when it may. */
export function verdictOn(c: Pick<Candidate, 'schema' | 'name' | 'volatility' | 'language'>): string | undefined {
  const system = c.schema === 'pg_catalog';
  if (sqlEvaluating.test(c.name)) return 'evaluates SQL text it is given';
  if (system && Object.hasOwn(allowedVolatile, c.name)) return undefined;
  if (system && Object.hasOwn(deniedStable, c.name)) return deniedStable[c.name];
  if (c.volatility === 'v') return 'is volatile (it may change state), and not on the reviewed allow-list';
  // A label of STABLE or IMMUTABLE is not enforced on SQL or PL code: such a function can still call a volatile one.
  if (!system && c.schema !== 'information_schema' && c.language !== 'internal' && c.language !== 'c') return `is a user-defined ${c.language} function: its volatility label does not stop it calling volatile functions`;
  return undefined;
}

interface Ref {
  /** `column type`: the type of a column of a relation read (its input and domain checks can run; its casts are not checked). */
  kind: 'function' | 'attribute' | 'operator' | 'type' | 'column type';
  schema: string | null;
  name: string;
  label: string;
  arr: boolean;
}

const show = (q: QualifiedName) => (q.schema ? `${q.schema}.${q.name}` : q.name);

/** The references as the catalog queries take them; `via` names the view or policy they were read from. */
function refsOf(refs: References, via = ''): Ref[] {
  const all: Ref[] = [
    ...refs.functions.map((f) => ({ kind: 'function' as const, ...f, label: `${via}${show(f)}()`, arr: false })),
    ...refs.attributes.map((name) => ({ kind: 'attribute' as const, schema: null, name, label: `${via}${name}() (called as .${name})`, arr: false })),
    ...refs.operators.map((o) => ({ kind: 'operator' as const, ...o, label: `${via}operator ${show(o)}`, arr: false })),
    ...refs.types.map((t) => ({ kind: 'type' as const, schema: t.schema, name: t.name, label: `${via}type ${show(t)}${t.array ? '[]' : ''}`, arr: t.array })),
  ];
  return [...new Map(all.map((r) => [`${r.kind}\0${r.label}`, r])).values()];
}

const matchNamespace = (ns: string) =>
  `((r.schema IS NULL AND ${ns} = ANY (SELECT oid FROM pg_namespace WHERE nspname = ANY (current_schemas(true))))
     OR (r.schema IS NOT NULL AND ${ns} = (SELECT oid FROM pg_namespace WHERE nspname = r.schema))
     OR (r.schema = 'pg_temp' AND ${ns} = pg_my_temp_schema()))`;

const quotedName = `CASE WHEN r.schema IS NULL THEN quote_ident(r.name) ELSE quote_ident(r.schema) || '.' || quote_ident(r.name) END`;
const typeOf = `to_regtype(${quotedName})`;

/**
 * The relations a statement reads, resolved (a name that resolves to nothing, such as a CTE's,
 * is left to the server), with the SQL that runs when they are read: the definition of a view
 * created after initdb (PostgreSQL's own views, OIDs below 16384, are trusted like pg_catalog's
 * functions) and the USING and WITH CHECK expressions of row-level security policies, as
 * statements the guard can parse; and the user-defined types of their columns (a literal or a
 * parameter coerced to a column's domain, in a UNION or a COALESCE, runs the domain's checks).
 */
const relationsSql = `
WITH r AS (SELECT * FROM jsonb_to_recordset($1::jsonb) AS r(schema text, name text))
SELECT DISTINCT c.oid::int AS oid, c.oid::regclass::text AS relation,
       CASE WHEN c.relkind = 'v' AND c.oid >= 16384 THEN pg_get_viewdef(c.oid) END AS view,
       ARRAY(SELECT 'SELECT ' || coalesce(pg_get_expr(p.polqual, p.polrelid), 'true') || ', ' || coalesce(pg_get_expr(p.polwithcheck, p.polrelid), 'true') || ' FROM ' || c.oid::regclass::text
               FROM pg_policy p WHERE p.polrelid = c.oid AND c.relrowsecurity) AS policies,
       coalesce((SELECT jsonb_agg(DISTINCT jsonb_build_object('schema', tn.nspname, 'name', ty.typname))
                   FROM pg_attribute a JOIN pg_type ty ON ty.oid = a.atttypid JOIN pg_namespace tn ON tn.oid = ty.typnamespace
                  WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND ty.oid >= 16384), '[]') AS types
  FROM r JOIN pg_class c ON c.oid = to_regclass(${quotedName})`;

/** At most this many views, policies and domain checks are followed for one statement (a guard against a pathological catalog). */
const maxExpansions = 500;

/** Parses SQL read back from the catalog (a view, a policy, a domain check) and labels what it names with where it came from. */
async function refsIn(sql: string, where: string): Promise<{ refs: Ref[]; relations: QualifiedName[] }> {
  const inner = await guardSql(sql).catch((err: unknown) => refuse(`${where} is refused: ${messageOf(err).replace(/^Refused: /, '').replace(/\. Nothing was sent to the server\.$/, '')}`));
  return { refs: refsOf(inner.refs, `${where} → `), relations: inner.refs.relations };
}

/**
 * Everything the statement can run besides what it names: followed until nothing new turns up.
 * Relations read bring their views' definitions, their row-level security policies and their
 * columns' types; every type reached brings its domains' CHECK expressions. All are read back
 * as SQL (pg_get_viewdef, pg_get_expr, pg_get_constraintdef) and parsed: pg_depend cannot be
 * used, since PostgreSQL records no dependency on a built-in object (a view or a domain check
 * calling pg_terminate_backend() depends on nothing).
 */
async function expand(tx: Queryable, refs: Ref[], relations: QualifiedName[]): Promise<Ref[]> {
  const all = [...refs];
  const seen = new Set<string>();
  const count = (key: string) => {
    seen.add(key);
    if (seen.size > maxExpansions) refuse(`the statement reaches more than ${maxExpansions} views, policies and domain checks`);
  };
  let pendingRelations = relations;
  let pendingTypes = refs.filter((r) => r.kind === 'type');
  while (pendingRelations.length || pendingTypes.length) {
    const found: Ref[] = [];
    const nextRelations: QualifiedName[] = [];
    if (pendingRelations.length) {
      const { rows } = await tx.query<{ oid: number; relation: string; view: string | null; policies: string[]; types: QualifiedName[] }>(relationsSql, [JSON.stringify(pendingRelations)]);
      for (const rel of rows.filter((r) => !seen.has(`rel ${r.oid}`))) {
        count(`rel ${rel.oid}`);
        const sources = [...(rel.view ? [{ what: 'view', sql: rel.view }] : []), ...rel.policies.map((sql) => ({ what: 'row-level security policy', sql }))];
        for (const { what, sql } of sources) {
          const inner = await refsIn(sql, `${rel.relation} (its ${what})`);
          found.push(...inner.refs);
          nextRelations.push(...inner.relations);
        }
        found.push(...rel.types.map((t) => ({ kind: 'column type' as const, ...t, label: `${rel.relation} (its column type ${show(t)})`, arr: false })));
      }
    }
    if (pendingTypes.length || found.some((r) => r.kind === 'type' || r.kind === 'column type')) {
      const types = [...pendingTypes, ...found.filter((r) => r.kind === 'type' || r.kind === 'column type')];
      const { rows } = await tx.query<{ label: string; oid: number; name: string; def: string }>(domainChecksSql, [JSON.stringify(types)]);
      for (const check of rows.filter((c) => !seen.has(`check ${c.oid}`))) {
        count(`check ${check.oid}`);
        const expression = check.def.replace(/^CHECK\s*/, '').replace(/\s+NOT VALID$/, '');
        const inner = await refsIn(`SELECT ${expression}`, `${check.label} (its domain check ${check.name})`);
        found.push(...inner.refs);
        nextRelations.push(...inner.relations);
      }
    }
    all.push(...found);
    pendingRelations = nextRelations;
    pendingTypes = found.filter((r) => r.kind === 'type');
  }
  return [...new Map(all.map((r) => [`${r.kind}\0${r.label}`, r])).values()];
}

/** The references, and every type each one reaches (the CTEs the two queries below share). */
const typesReached = `
WITH RECURSIVE r AS (SELECT * FROM jsonb_to_recordset($1::jsonb) AS r(kind text, schema text, name text, label text, arr boolean)),
t0 AS (
  SELECT r.label, ty.oid, r.arr, ty.typarray FROM r JOIN pg_type ty ON ty.oid = ${typeOf} WHERE r.kind IN ('type', 'column type')
),
-- The type cast to and every type its input reaches: array elements, domains' base types,
-- composite fields, range subtypes (a domain CHECK runs inside record_in and array_in too).
t(label, oid) AS (
  SELECT label, oid FROM t0
  UNION
  SELECT label, typarray FROM t0 WHERE arr AND typarray <> 0
  UNION
  SELECT t.label, sub.oid FROM t JOIN pg_type ty ON ty.oid = t.oid
   CROSS JOIN LATERAL (
     SELECT ty.typelem WHERE ty.typelem <> 0
     UNION ALL SELECT ty.typbasetype WHERE ty.typbasetype <> 0
     UNION ALL SELECT a.atttypid FROM pg_attribute a WHERE ty.typrelid <> 0 AND a.attrelid = ty.typrelid AND a.attnum > 0 AND NOT a.attisdropped
     UNION ALL SELECT rg.rngsubtype FROM pg_range rg WHERE rg.rngtypid = ty.oid
   ) AS sub(oid)
)`;

/** The CHECK constraints of every domain the types reach, as SQL to parse. */
const domainChecksSql = `${typesReached}
SELECT DISTINCT t.label, k.oid::int AS oid, k.conname AS name, pg_get_constraintdef(k.oid) AS def
  FROM t JOIN pg_constraint k ON k.contypid = t.oid AND k.contype = 'c'`;

/** Every function each reference can reach, with what decides whether it may run. */
const candidatesSql = `${typesReached},
direct AS (
  SELECT r.label, p.oid AS fn FROM r JOIN pg_proc p ON p.proname = r.name
   WHERE r.kind IN ('function', 'attribute') AND (r.kind = 'function' OR p.pronargs = 1) AND ${matchNamespace('p.pronamespace')}
  UNION ALL
  SELECT r.label, f.fn FROM r JOIN pg_operator o ON o.oprname = r.name
   CROSS JOIN LATERAL (VALUES (o.oprcode::oid), (o.oprrest::oid), (o.oprjoin::oid)) AS f(fn)
   WHERE r.kind = 'operator' AND f.fn <> 0 AND ${matchNamespace('o.oprnamespace')}
  UNION ALL
  SELECT t.label, ty.typinput::oid FROM t JOIN pg_type ty ON ty.oid = t.oid
  UNION ALL
  SELECT t.label, c.castfunc FROM t JOIN r ON r.label = t.label AND r.kind = 'type' JOIN pg_cast c ON c.casttarget = t.oid WHERE c.castfunc <> 0
  UNION ALL
  SELECT t.label, d.refobjid FROM t JOIN pg_constraint k ON k.contypid = t.oid
    JOIN pg_depend d ON d.classid = 'pg_constraint'::regclass AND d.objid = k.oid AND d.refclassid = 'pg_proc'::regclass
),
fns AS (
  SELECT label, fn FROM direct
  UNION ALL
  SELECT d.label, s.fn FROM direct d JOIN pg_aggregate a ON a.aggfnoid = d.fn
   CROSS JOIN LATERAL (VALUES (a.aggtransfn::oid), (a.aggfinalfn::oid), (a.aggcombinefn::oid), (a.aggserialfn::oid),
                              (a.aggdeserialfn::oid), (a.aggmtransfn::oid), (a.aggminvtransfn::oid), (a.aggmfinalfn::oid)) AS s(fn)
   WHERE s.fn <> 0
)
SELECT DISTINCT f.label, p.oid::int AS oid, n.nspname AS schema, p.proname AS name, p.provolatile::text AS volatility, l.lanname AS language
  FROM fns f JOIN pg_proc p ON p.oid = f.fn JOIN pg_namespace n ON n.oid = p.pronamespace JOIN pg_language l ON l.oid = p.prolang`;

/** References to functions, operators or types that resolve to nothing: refused (fail closed). */
const unresolvedSql = `
WITH r AS (SELECT * FROM jsonb_to_recordset($1::jsonb) AS r(kind text, schema text, name text, label text, arr boolean))
SELECT r.label FROM r
 WHERE (r.kind = 'function' AND NOT EXISTS (SELECT 1 FROM pg_proc p WHERE p.proname = r.name AND ${matchNamespace('p.pronamespace')}))
    OR (r.kind = 'operator' AND NOT EXISTS (SELECT 1 FROM pg_operator o WHERE o.oprname = r.name AND ${matchNamespace('o.oprnamespace')}))
    OR (r.kind = 'type' AND ${typeOf} IS NULL)`;

const refuse = (why: string): never => {
  throw new TwlError('TWL_SQL_REFUSED', `Refused: ${why}. The statement was not run.`);
};

/**
 * Resolves what the statement names in the catalog of the connection it is about to run on
 * (same transaction, same search_path, same role) and refuses it unless every function it can
 * reach is safe.
 */
export async function checkFunctions(tx: Queryable, refs: References): Promise<void> {
  const list = await expand(tx, refsOf(refs), refs.relations);
  if (!list.length) return;
  const json = JSON.stringify(list);
  const unresolved = await tx.query<{ label: string }>(unresolvedSql, [json]);
  if (unresolved.rows.length) refuse(`${unresolved.rows.map((r) => r.label).join(', ')} cannot be resolved in the catalog (only what resolves can be checked)`);
  const { rows } = await tx.query<Candidate>(candidatesSql, [json]);
  for (const c of rows) {
    const why = verdictOn(c);
    if (why) refuse(`${c.label} can run ${c.schema}.${c.name}() (oid ${c.oid}), which ${why}`);
  }
}
