import { readdirSync, readFileSync } from 'node:fs';
import { TwlError } from '../runtime/errors.js';
import type { Queryable, Store } from './types.js';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

const dir = new URL('./migrations/', import.meta.url);

/** The versioned SQL migrations, `NNNN_name.sql`, in order. One dialect for PGlite and PostgreSQL. */
export function migrations(): Migration[] {
  return readdirSync(dir)
    .filter((f) => /^\d{4}_[\w-]+\.sql$/.test(f))
    .sort()
    .map((f) => ({ version: Number(f.slice(0, 4)), name: f.slice(5, -4), sql: readFileSync(new URL(f, dir), 'utf8') }));
}

export interface MigrationStatus {
  version: number;
  name: string;
  appliedAt: string | null;
  /** The name the database recorded for this version, when it is not this build's: another build migrated it. */
  recordedAs?: string;
}

const ensureTable = 'CREATE TABLE IF NOT EXISTS twl_migrations (version int PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())';

async function applied(q: Queryable): Promise<Map<number, { at: string; name: string }>> {
  const { rows } = await q.query<{ version: number; name: string; applied_at: Date }>('SELECT version, name, applied_at FROM twl_migrations');
  return new Map(rows.map((r) => [r.version, { at: new Date(r.applied_at).toISOString(), name: r.name }]));
}

const statusOf = (all: Migration[], done: Map<number, { at: string; name: string }>): MigrationStatus[] =>
  all.map((m) => {
    const row = done.get(m.version);
    return { version: m.version, name: m.name, appliedAt: row?.at ?? null, ...(row && row.name !== m.name ? { recordedAs: row.name } : {}) };
  });

export async function migrationStatus(store: Store): Promise<MigrationStatus[]> {
  const exists = await store.query<{ ok: boolean }>("SELECT to_regclass('twl_migrations') IS NOT NULL AS ok");
  return statusOf(migrations(), exists.rows[0]?.ok ? await applied(store) : new Map());
}

/**
 * Versions are recorded by number: a database migrated by another build of twl, whose
 * migration N is another change, would otherwise pass for up to date and miss this build's N.
 */
function refuseForeign(status: MigrationStatus[]): void {
  const foreign = status.filter((s) => s.recordedAs !== undefined);
  if (!foreign.length) return;
  const list = foreign.map((s) => `${s.version} is recorded as "${s.recordedAs}", this twl's is "${s.name}"`).join('; ');
  throw new TwlError('TWL_STORE_FAILED', `The store's schema was migrated by another build of twl (migration ${list}): this build cannot tell what it holds.`, {
    actions: ['Run the twl build that migrated this store, or point this one at its own database (database.url, or another TWL_HOME for the embedded store).'],
  });
}

/**
 * Applies what is pending, all in one transaction, under an advisory lock so that
 * concurrent twl processes on one PostgreSQL apply each migration once.
 */
export async function migrate(store: Store): Promise<MigrationStatus[]> {
  const all = migrations();
  // Cheap check first: most commands find nothing to do.
  const status = await migrationStatus(store).catch(() => undefined);
  if (status) refuseForeign(status);
  if (status && status.every((s) => s.appliedAt)) return [];
  return store.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock(7245001)');
    await tx.exec(ensureTable);
    const done = await applied(tx);
    refuseForeign(statusOf(all, done));
    const ran: MigrationStatus[] = [];
    for (const m of all) {
      if (done.has(m.version)) continue;
      await tx.exec(m.sql);
      await tx.query('INSERT INTO twl_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
      ran.push({ version: m.version, name: m.name, appliedAt: new Date().toISOString() });
    }
    return ran;
  });
}
