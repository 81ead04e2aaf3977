/** What the catalog queries need: one statement with bind parameters (a Store, a transaction, a scratch PGlite, a pg client). */
export interface Querier {
  query<R = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<{ rows: R[] }>;
}

/**
 * Schemas that belong to PostgreSQL itself, never to the data, and those the caller leaves out
 * (the job queue's, whose tables its own library makes: bound as $1).
 */
const userSchemas = `n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> ALL($1::text[])`;

/** The tables holding data (ordinary and partitioned), as quoted `schema.table` and a readable name. */
export async function userTables(q: Querier, skipSchemas: string[] = []): Promise<Array<{ name: string; quoted: string }>> {
  const { rows } = await q.query<{ name: string; quoted: string }>(
    `SELECT n.nspname || '.' || c.relname AS name, format('%I.%I', n.nspname, c.relname) AS quoted
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p') AND ${userSchemas}
        AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'e')
      ORDER BY 1`,
    [skipSchemas],
  );
  return rows;
}

/** Exact row counts per table (`schema.table` → rows), in name order. */
export async function rowCounts(q: Querier, skipSchemas: string[] = []): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const t of await userTables(q, skipSchemas)) {
    const { rows } = await q.query<{ n: string | number }>(`SELECT count(*) AS n FROM ${t.quoted}`);
    counts[t.name] = Number(rows[0]?.n ?? 0);
  }
  return counts;
}

/**
 * The shape of a database as comparable lines: relations (tables, views, sequences, indexes),
 * columns with their types, functions and triggers. Two databases with the same lines have
 * the same schema, as far as a logical copy of the data is concerned.
 */
export async function schemaFingerprint(q: Querier, skipSchemas: string[] = []): Promise<string[]> {
  const { rows } = await q.query<{ line: string }>(
    `SELECT line FROM (
       SELECT 'relation ' || c.relkind::text || ' ' || n.nspname || '.' || c.relname AS line
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'i', 'f') AND ${userSchemas}
       UNION ALL
       SELECT 'column ' || n.nspname || '.' || c.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
              || CASE WHEN a.attgenerated <> '' THEN ' generated' ELSE '' END
         FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped AND ${userSchemas}
       UNION ALL
       SELECT 'function ' || n.nspname || '.' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')'
         FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE ${userSchemas} AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')
       UNION ALL
       SELECT 'trigger ' || n.nspname || '.' || c.relname || '.' || t.tgname
         FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE NOT t.tgisinternal AND ${userSchemas}
     ) s ORDER BY line`,
    [skipSchemas],
  );
  return rows.map((r) => r.line);
}

/** Lines only in a, and lines only in b. */
export function diffLines(a: string[], b: string[]): { onlyA: string[]; onlyB: string[] } {
  const setA = new Set(a);
  const setB = new Set(b);
  return { onlyA: a.filter((l) => !setB.has(l)), onlyB: b.filter((l) => !setA.has(l)) };
}

export interface CountCheck {
  table: string;
  expected: number | null;
  actual: number | null;
  ok: boolean;
}

/** Row counts restored against the manifest's, table by table (a table missing on either side fails). */
export function compareCounts(expected: Record<string, number>, actual: Record<string, number>): CountCheck[] {
  const names = [...new Set([...Object.keys(expected), ...Object.keys(actual)])].sort();
  return names.map((table) => {
    const e = expected[table] ?? null;
    const a = actual[table] ?? null;
    return { table, expected: e, actual: a, ok: e !== null && e === a };
  });
}
