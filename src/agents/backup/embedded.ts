import { existsSync, readFileSync, renameSync, rmSync } from 'node:fs';
import type { LoadedConfig } from '../../runtime/config.js';
import { TwlError, messageOf } from '../../runtime/errors.js';
import type { Logger } from '../../runtime/logger.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { describeOwner, embeddedPaths, stopBackgroundHost, tryLock, type EmbeddedPaths } from '../../store/embedded.js';
import { HANDOVER_MS } from '../../store/open.js';
import { migrations } from '../../store/migrate.js';
import type { Queryable, Store } from '../../store/types.js';
import { compareCounts, diffLines, rowCounts, schemaFingerprint, userTables, type CountCheck } from './catalog.js';
import { ScratchPglite } from './scratch.js';

/*
 * How a backup of the embedded store gets a consistent dump.
 *
 * The data directory belongs to exactly one process: the lock holder (a CLI command, or this
 * process) or a host that serves it on a Unix socket (twl serve, the background twl db host).
 * The native pg_dump cannot read it (PGlite is PostgreSQL 18; the client may be older), and
 * PGlite's own pg_dump (WASM) needs the PGlite instance in its own thread, which only the owner
 * has. So the backup takes one path whoever owns the store:
 *
 *   1. It reads the store through the ordinary Store interface (a direct open under the lock,
 *      or the host's socket, or this process's own open store) inside ONE read-only
 *      REPEATABLE READ transaction. That is a consistent snapshot on either side: the socket
 *      server runs one client's transaction at a time, and a direct open is this process's alone.
 *   2. In that transaction it rebuilds the store in a scratch in-memory PGlite (a worker thread):
 *      the schema from twl's own migrations (exactly the versions the store has applied), then
 *      every table's rows (streamed as JSON through a cursor) and sequence positions.
 *   3. It checks the copy is the store: same schema fingerprint (tables, columns and types,
 *      indexes, sequences, views, functions, triggers) and the same row count in every table.
 *      An object the migrations do not create (made by hand) fails the backup, loudly.
 *   4. It runs PGlite's pg_dump on the copy: the backup is a plain SQL script that any PGlite
 *      (or PostgreSQL) restores with one exec, which is what verify and restore do.
 *
 * It never stops, pauses or replaces a host, and needs no change to it.
 */

const stampOf = (d = new Date()) => d.toISOString().replace(/[-:.]/g, '');

/** The embedded store as twl's migrations define it: the ones applied to the source, in order. */
async function applySchema(copy: ScratchPglite, source: Queryable): Promise<number[]> {
  const exists = await source.query<{ ok: boolean }>("SELECT to_regclass('twl_migrations') IS NOT NULL AS ok");
  if (!exists.rows[0]?.ok) return [];
  const applied = (await source.query<{ version: number }>('SELECT version FROM twl_migrations ORDER BY version')).rows.map((r) => Number(r.version));
  const known = new Map(migrations().map((m) => [m.version, m]));
  const unknown = applied.filter((v) => !known.has(v));
  if (unknown.length) {
    throw new TwlError('TWL_BACKUP_FAILED', `The embedded store has migration${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} that this twl does not know (a newer twl migrated it).`, {
      actions: ['Run the backup with the twl version that hosts the store.'],
    });
  }
  // As src/store/migrate.ts creates it.
  await copy.exec('CREATE TABLE IF NOT EXISTS twl_migrations (version int PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())');
  for (const version of applied) await copy.exec(known.get(version)!.sql);
  return applied;
}

const CHUNK = 2000;

/** Copies every table's rows and every sequence's position from the source transaction into the copy. */
async function copyData(copy: ScratchPglite, source: Queryable, skipSchemas: string[]): Promise<void> {
  const tables = await userTables(copy);
  // The migrations seed some rows: the copy holds exactly the source's.
  if (tables.length) await copy.exec(`TRUNCATE ${tables.map((t) => t.quoted).join(', ')}`);
  // Foreign keys and triggers (an append-only guard, for one) do not fire while loading a copy.
  await copy.exec("SET session_replication_role = 'replica'");
  for (const t of tables) {
    const cols = (await copy.query<{ col: string }>(`SELECT quote_ident(attname) AS col FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped AND attgenerated = '' ORDER BY attnum`, [t.quoted])).rows
      .map((r) => r.col)
      .join(', ');
    await source.exec(`DECLARE twl_backup_rows NO SCROLL CURSOR FOR SELECT row_to_json(t)::text AS r FROM ${t.quoted} t`);
    for (;;) {
      const { rows } = await source.query<{ r: string }>(`FETCH ${CHUNK} FROM twl_backup_rows`);
      if (!rows.length) break;
      await copy.query(`INSERT INTO ${t.quoted} (${cols}) OVERRIDING SYSTEM VALUE SELECT ${cols} FROM json_populate_recordset(NULL::${t.quoted}, $1::json)`, [`[${rows.map((r) => r.r).join(',')}]`]);
    }
    await source.exec('CLOSE twl_backup_rows');
  }
  await copy.exec("SET session_replication_role = 'origin'");
  const sequences = await source.query<{ quoted: string; last: string }>(
    "SELECT format('%I.%I', schemaname, sequencename) AS quoted, last_value::text AS last FROM pg_sequences WHERE last_value IS NOT NULL AND schemaname NOT IN ('pg_catalog', 'information_schema') AND schemaname <> ALL($1::text[])",
    [skipSchemas],
  );
  for (const s of sequences.rows) await copy.query('SELECT setval($1::regclass, $2::bigint, true)', [s.quoted, s.last]);
}

export interface EmbeddedDump {
  tables: Record<string, number>;
  /** Schemas of the store left out of the copy (the job queue's), when the store has them. */
  skipped: string[];
  serverVersion: string | null;
  migrations: number[];
}

/**
 * Dumps the embedded store, read through `store`, into `file` (see the comment at the top).
 * `skipSchemas` are left out: the job queue's schema, whose tables pg-boss makes (per queue, as
 * they are created), so twl's migrations cannot rebuild them in the copy.
 */
export async function dumpEmbedded(store: Store, file: string, logger: Logger, signal?: AbortSignal, skipSchemas: string[] = []): Promise<EmbeddedDump> {
  const copy = await ScratchPglite.start(logger, { signal });
  try {
    const snapshot = await store.transaction(
      async (tx) => {
        await tx.exec('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ');
        const serverVersion = (await tx.query<{ server_version: string }>('SHOW server_version')).rows[0]?.server_version ?? null;
        const applied = await applySchema(copy, tx);
        const { onlyA, onlyB } = diffLines(await schemaFingerprint(tx, skipSchemas), await schemaFingerprint(copy, skipSchemas));
        if (onlyA.length || onlyB.length) {
          const list = (lines: string[]) => lines.slice(0, 8).join('; ') + (lines.length > 8 ? `; and ${lines.length - 8} more` : '');
          throw new TwlError(
            'TWL_BACKUP_FAILED',
            `The embedded store's schema is not the one twl's migrations make, so a copy would be incomplete.${onlyA.length ? ` Only in the store: ${list(onlyA)}.` : ''}${onlyB.length ? ` Missing from the store: ${list(onlyB)}.` : ''}`,
          );
        }
        const tables = await rowCounts(tx, skipSchemas);
        await copyData(copy, tx, skipSchemas);
        const present = await tx.query<{ nspname: string }>('SELECT nspname FROM pg_namespace WHERE nspname = ANY($1::text[]) ORDER BY 1', [skipSchemas]);
        return { tables, serverVersion, migrations: applied, skipped: present.rows.map((r) => r.nspname) };
      },
      { readOnly: true, signal },
    );
    const copied = await rowCounts(copy);
    const wrong = compareCounts(snapshot.tables, copied).filter((c) => !c.ok);
    if (wrong.length) throw new TwlError('TWL_BACKUP_FAILED', `The copy of the embedded store differs from it: ${wrong.map((c) => `${c.table} ${c.expected} → ${c.actual}`).join(', ')}.`);
    await copy.dump(file);
    return snapshot;
  } finally {
    await copy.close();
  }
}

/** Restores a dump into a fresh in-memory PGlite and counts its rows. */
export async function loadDumpInMemory(file: string, logger: Logger, signal?: AbortSignal): Promise<Record<string, number>> {
  const db = await ScratchPglite.start(logger, { signal });
  try {
    await db.execFile(file);
    return await rowCounts(db);
  } catch (err) {
    if (err instanceof TwlError) throw err;
    throw new TwlError('TWL_BACKUP_CORRUPT', `The dump ${file} does not restore: ${messageOf(err)}`, { cause: err });
  } finally {
    await db.close();
  }
}

const ownerPid = (paths: EmbeddedPaths): number | undefined => {
  try {
    return (JSON.parse(readFileSync(paths.ownerFile, 'utf8')) as { pid?: number }).pid;
  } catch {
    return undefined;
  }
};

/** Whether this very process holds the embedded store (its runtime opened or hosts it). */
export const heldByThisProcess = (home: string): boolean => ownerPid(embeddedPaths(home)) === process.pid;

export interface EmbeddedRestore {
  tables: CountCheck[];
  /** The data directory that was replaced, when kept. */
  previous: string | null;
}

/**
 * Restores a dump as the embedded store: only when no other process holds it. Builds a fresh
 * data directory next to the store, checks its row counts, then swaps it in by renames; the old
 * directory stays as a timestamped sibling until the new one is in place (and after, if asked).
 */
export async function restoreEmbedded(loaded: LoadedConfig, file: string, expected: Record<string, number>, logger: Logger, options: { keepPrevious?: boolean; signal?: AbortSignal } = {}): Promise<EmbeddedRestore> {
  const paths = embeddedPaths(loaded.home);
  let release = await tryLock(paths, 'twl backup restore', logger);
  // twl's own background host (started by a CLI command) hands the store over; anything else is in use.
  const asked = new Set<number>();
  if (!release && stopBackgroundHost(paths, logger, asked) !== undefined) {
    const deadline = Date.now() + loaded.config.store.lockTimeout + HANDOVER_MS;
    while (!release && Date.now() < deadline) {
      await sleep(100);
      release = await tryLock(paths, 'twl backup restore', logger);
    }
  }
  if (!release) {
    const pid = ownerPid(paths);
    const self = pid === process.pid;
    throw new TwlError('TWL_STORE_BUSY', `Cannot restore the embedded store at ${paths.dataDir}: it is in use by ${describeOwner(paths)}${self ? ', this very process' : ''}. A restore replaces the data directory, so nothing may hold it.`, {
      actions: [
        self
          ? 'Run the restore from its own command (`twl backup restore`), not from a process that uses the store.'
          : `Stop that process first (Ctrl-C a \`twl serve\`, \`twl dash\` or \`twl db host\`; \`kill ${pid ?? '<pid>'}\` from another terminal), then run the restore again.`,
      ],
    });
  }
  const stamp = stampOf();
  const fresh = `${paths.dataDir}.restore-${stamp}`;
  const previous = `${paths.dataDir}.pre-restore-${stamp}`;
  let swapped = false;
  try {
    // A host that was killed leaves its socket behind; clients would try it.
    rmSync(paths.socketPath, { force: true });
    const db = await ScratchPglite.start(logger, { dataDir: fresh, signal: options.signal });
    let restored: Record<string, number>;
    try {
      await db.execFile(file);
      restored = await rowCounts(db);
    } catch (err) {
      throw new TwlError('TWL_BACKUP_FAILED', `The dump ${file} does not restore: ${messageOf(err)}; the store was not changed.`, { cause: err });
    } finally {
      await db.close();
    }
    const tables = compareCounts(expected, restored);
    const wrong = tables.filter((c) => !c.ok);
    if (wrong.length) throw new TwlError('TWL_BACKUP_CORRUPT', `The restored rows differ from the backup's manifest (${wrong.map((c) => `${c.table}: ${c.expected} expected, ${c.actual} restored`).join('; ')}); the store was not changed.`);
    if (existsSync(paths.dataDir)) renameSync(paths.dataDir, previous);
    swapped = true;
    renameSync(fresh, paths.dataDir);
    if (!options.keepPrevious) rmSync(previous, { recursive: true, force: true });
    return { tables, previous: options.keepPrevious && existsSync(previous) ? previous : null };
  } catch (err) {
    // Put the old store back if the swap went half way.
    if (swapped && !existsSync(paths.dataDir) && existsSync(previous)) renameSync(previous, paths.dataDir);
    rmSync(fresh, { recursive: true, force: true });
    throw err;
  } finally {
    await release();
  }
}
