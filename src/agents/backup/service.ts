import { copyFileSync, existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { OpContext } from '../../runtime/context.js';
import { TwlError, messageOf } from '../../runtime/errors.js';
import { redactText, redactUrl } from '../../runtime/redact.js';
import { compareCounts, type CountCheck } from './catalog.js';
import { makeWritableDir } from '../../runtime/writable.js';
import {
  backupRoot,
  checkFiles,
  describeFile,
  findBackup,
  listBackups,
  newBackupId,
  twlVersion,
  writeManifest,
  type BackupKind,
  type ChecksumCheck,
  type FileEntry,
  type Manifest,
  type StoredBackup,
} from './manifest.js';

export interface BackupSource {
  kind: BackupKind;
  /** `store` (twl's own) or a database.targets name. */
  target: string;
  /** PostgreSQL only: the connection URL, with its password (never shown). */
  url?: string;
}

/** What a target name means now: twl's own store (embedded or database.url) or a database.targets entry. */
export function resolveSource(ctx: OpContext, target: string | undefined): BackupSource {
  const name = target ?? 'store';
  if (name === 'store') {
    const url = ctx.config.database.url;
    return url ? { kind: 'postgres', target: name, url } : { kind: 'embedded', target: name };
  }
  const entry = Object.hasOwn(ctx.config.database.targets, name) ? ctx.config.database.targets[name] : undefined;
  if (!entry) {
    const known = Object.keys(ctx.config.database.targets);
    throw new TwlError('TWL_TARGET_UNKNOWN', `Unknown database target "${name}". ${known.length ? `Configured targets: ${known.join(', ')} (or "store" for twl's own store).` : 'No database.targets are configured; only "store" (twl\'s own store) is available.'}`);
  }
  return { kind: 'postgres', target: name, url: entry.url };
}

const displayLocation = (ctx: OpContext, source: BackupSource): string => (source.url ? redactUrl(source.url) : path.join(ctx.runtime.loaded.home, 'store'));

export interface CreatedBackup {
  id: string;
  kind: BackupKind;
  target: string;
  dir: string;
  createdAt: string;
  files: FileEntry[];
  sizeBytes: number;
  tables: Record<string, number>;
  configCopied: boolean;
  durationMs: number;
}

/** The embedded store through the Store interface, without starting a background host (see embedded.ts). */
async function embeddedStoreFor(ctx: OpContext): Promise<{ store: Awaited<ReturnType<OpContext['store']>>; close: () => Promise<void> }> {
  const { heldByThisProcess } = await import('./embedded.js');
  // This process has it open already (its runtime opened or hosts it): use that one.
  if (heldByThisProcess(ctx.runtime.loaded.home)) return { store: await ctx.store(), close: async () => undefined };
  const { openStore } = await import('../../store/open.js');
  // No hostBin: a backup connects to a running host or opens the store under its lock, and
  // leaves no background host behind (which would hold the store against a later restore).
  const store = await openStore(ctx.runtime.loaded, ctx.logger, { role: 'twl backup create', migrate: false });
  return { store, close: () => store.close() };
}

export async function createBackup(ctx: OpContext, target: string | undefined): Promise<CreatedBackup> {
  const started = performance.now();
  const source = resolveSource(ctx, target);
  const root = backupRoot(ctx.runtime.loaded);
  makeWritableDir(root, 'backups', 0o700);
  const createdAt = new Date();
  const id = newBackupId(source.target, createdAt);
  // Built in a dot directory (never listed), renamed into place when complete.
  const partial = path.join(root, `.partial-${id}`);
  mkdirSync(partial, { mode: 0o700 });
  try {
    let dump: Manifest['dump'];
    let tables: Record<string, number>;
    let dumpName: string;
    if (source.kind === 'embedded') {
      const { dumpEmbedded } = await import('./embedded.js');
      dumpName = 'store.sql';
      ctx.progress({ message: 'Copying the embedded store in one snapshot, then pg_dump (PGlite)', status: 'running' });
      const { store, close } = await embeddedStoreFor(ctx);
      try {
        const r = await dumpEmbedded(store, path.join(partial, dumpName), ctx.logger, ctx.signal, [ctx.config.tasks.schema]);
        tables = r.tables;
        if (r.skipped.length) ctx.warn(`The job queue (schema ${r.skipped.join(', ')}) is not in embedded backups: twl's tasks and their executions are, but after a restore, re-run or re-create the tasks that were queued or scheduled (twl task list).`);
        dump = { tool: 'PGlite pg_dump (@electric-sql/pglite-tools)', format: 'pglite-sql', serverVersion: r.serverVersion };
      } finally {
        await close();
      }
    } else {
      const { dumpPostgres } = await import('./postgres.js');
      dumpName = `${source.target}.dump`;
      ctx.progress({ message: `pg_dump of ${displayLocation(ctx, source)}`, status: 'running' });
      const r = await dumpPostgres(source.url!, path.join(partial, dumpName), ctx.signal);
      tables = r.tables;
      dump = { tool: r.tool, format: 'pg_dump-custom', serverVersion: r.serverVersion };
    }
    const files = [await describeFile(partial, dumpName, 'dump')];
    let config: Manifest['config'] = null;
    const { file: configFile, fromEnv } = ctx.runtime.loaded;
    if (configFile && existsSync(configFile)) {
      const name = path.join('config', path.basename(configFile));
      mkdirSync(path.join(partial, 'config'), { mode: 0o700 });
      copyFileSync(configFile, path.join(partial, name));
      files.push(await describeFile(partial, name, 'config'));
      config = {
        file: name,
        source: configFile,
        note: 'Copied as is: it may hold secrets (connection URLs with passwords, API keys); keep this backup as private as the file itself.',
        fromEnv,
      };
    } else if (fromEnv.some((e) => !e.startsWith('home '))) {
      ctx.warn(`There is no configuration file to copy; these settings came from the environment and are not in the backup: ${fromEnv.filter((e) => !e.startsWith('home ')).join(', ')}.`);
    }
    const manifest: Manifest = {
      format: 1,
      id,
      kind: source.kind,
      target: source.target,
      source: displayLocation(ctx, source),
      createdAt: createdAt.toISOString(),
      twlVersion: twlVersion(),
      dump,
      files,
      tables,
      config,
      verified: null,
    };
    writeManifest(partial, manifest);
    const dir = path.join(root, id);
    renameSync(partial, dir);
    ctx.progress({ message: `Backup ${id} written`, status: 'ok' });
    return {
      id,
      kind: source.kind,
      target: source.target,
      dir,
      createdAt: manifest.createdAt,
      files,
      sizeBytes: files.reduce((s, f) => s + f.size, 0),
      tables,
      configCopied: config !== null,
      durationMs: Math.round(performance.now() - started),
    };
  } catch (err) {
    rmSync(partial, { recursive: true, force: true });
    if (err instanceof TwlError) throw err;
    throw new TwlError('TWL_BACKUP_FAILED', `Backup of ${source.target} failed: ${redactText(messageOf(err))}`, { cause: err });
  }
}

export interface ListedBackup {
  id: string;
  kind: BackupKind;
  target: string;
  createdAt: string;
  sizeBytes: number;
  tables: number;
  rows: number;
  dir: string;
  verified: Manifest['verified'];
}

export const summarize = (b: StoredBackup): ListedBackup => ({
  id: b.manifest.id,
  kind: b.manifest.kind,
  target: b.manifest.target,
  createdAt: b.manifest.createdAt,
  sizeBytes: b.sizeBytes,
  tables: Object.keys(b.manifest.tables).length,
  rows: Object.values(b.manifest.tables).reduce((s, n) => s + n, 0),
  dir: b.dir,
  verified: b.manifest.verified,
});

export function listAll(ctx: OpContext, target: string | undefined): { dir: string; backups: ListedBackup[] } {
  const root = backupRoot(ctx.runtime.loaded);
  const all = listBackups(root, (dir, reason) => ctx.warn(`Skipped ${dir}: ${reason}`));
  return { dir: root, backups: all.filter((b) => target === undefined || b.manifest.target === target).map(summarize) };
}

const record = (backup: StoredBackup, ok: boolean, error: string | null): void => {
  try {
    writeManifest(backup.dir, { ...backup.manifest, verified: { at: new Date().toISOString(), ok, error } });
  } catch {
    // A read-only backup store still verifies; the status is just not recorded.
  }
};

export interface Verification {
  id: string;
  kind: BackupKind;
  target: string;
  checksums: ChecksumCheck[];
  tables: CountCheck[];
  restoredInto: string;
  verifiedAt: string;
  durationMs: number;
}

/** Checks every checksum, restores into a scratch database, and compares row counts with the manifest's; records the outcome in the manifest. */
export async function verifyBackup(ctx: OpContext, id: string | undefined, target: string | undefined): Promise<Verification> {
  const started = performance.now();
  const backup = findBackup(backupRoot(ctx.runtime.loaded), id, target);
  const m = backup.manifest;
  try {
    ctx.progress({ message: `Checking the sha256 of ${m.files.length} file(s)`, status: 'running' });
    const checksums = await checkFiles(backup);
    const dumpFile = path.join(backup.dir, m.files.find((f) => f.role === 'dump')!.name);
    let counts: Record<string, number>;
    let restoredInto: string;
    if (m.kind === 'embedded') {
      ctx.progress({ message: 'Restoring into an in-memory PGlite', status: 'running' });
      const { loadDumpInMemory } = await import('./embedded.js');
      counts = await loadDumpInMemory(dumpFile, ctx.logger, ctx.signal);
      restoredInto = 'an in-memory PGlite';
    } else {
      const source = resolveSource(ctx, m.target);
      if (source.kind !== 'postgres') throw new TwlError('TWL_INPUT_INVALID', `Backup ${m.id} is of PostgreSQL, but "${m.target}" is now the embedded store: there is no server to verify it on.`);
      ctx.progress({ message: `pg_restore into a scratch database on ${redactUrl(source.url!)}`, status: 'running' });
      const { verifyPostgresDump } = await import('./postgres.js');
      const r = await verifyPostgresDump(source.url!, dumpFile, ctx.signal);
      counts = r.counts;
      restoredInto = `scratch database ${r.database} (dropped)`;
    }
    const tables = compareCounts(m.tables, counts);
    const wrong = tables.filter((t) => !t.ok);
    if (wrong.length) {
      throw new TwlError('TWL_BACKUP_CORRUPT', `Backup ${m.id} restores with different row counts than it recorded: ${wrong.map((t) => `${t.table} ${t.expected ?? 'absent'} → ${t.actual ?? 'absent'}`).join(', ')}.`, {
        details: { id: m.id, tables: wrong },
      });
    }
    record(backup, true, null);
    ctx.progress({ message: `Backup ${m.id} verified`, status: 'ok' });
    return { id: m.id, kind: m.kind, target: m.target, checksums, tables, restoredInto, verifiedAt: new Date().toISOString(), durationMs: Math.round(performance.now() - started) };
  } catch (err) {
    // Only a verdict on the backup itself is recorded (not an unreachable server, nor an interruption).
    if ((err as { code?: string }).code === 'TWL_BACKUP_CORRUPT') record(backup, false, redactText(messageOf(err)));
    throw err;
  }
}

export interface Restored {
  id: string;
  kind: BackupKind;
  target: string;
  into: string;
  tables: CountCheck[];
  previous: string | null;
  durationMs: number;
}

/** Restores a backup into its source (checksums first); the op asks for approval before this runs. */
export async function restoreBackup(ctx: OpContext, id: string, target: string | undefined, keepPrevious: boolean): Promise<Restored> {
  const started = performance.now();
  const backup = findBackup(backupRoot(ctx.runtime.loaded), id, target);
  const m = backup.manifest;
  const source = resolveSource(ctx, m.target);
  if (source.kind !== m.kind) {
    throw new TwlError('TWL_INPUT_INVALID', `Backup ${m.id} is of ${m.kind === 'embedded' ? 'the embedded store' : 'PostgreSQL'}, but "${m.target}" is now ${source.kind === 'embedded' ? 'the embedded store' : `PostgreSQL at ${redactUrl(source.url!)}`}; twl restores a backup only into the kind of database it came from.`);
  }
  ctx.progress({ message: `Checking the sha256 of ${m.files.length} file(s)`, status: 'running' });
  await checkFiles(backup);
  const dumpFile = path.join(backup.dir, m.files.find((f) => f.role === 'dump')!.name);
  if (m.kind === 'embedded') {
    ctx.progress({ message: 'Building a new data directory from the dump, then swapping it in', status: 'running' });
    const { restoreEmbedded } = await import('./embedded.js');
    const r = await restoreEmbedded(ctx.runtime.loaded, dumpFile, m.tables, ctx.logger, { keepPrevious, signal: ctx.signal });
    if (r.previous) ctx.warn(`The replaced data directory is kept at ${r.previous}; remove it when you no longer need it.`);
    return { id: m.id, kind: m.kind, target: m.target, into: displayLocation(ctx, source), tables: r.tables, previous: r.previous, durationMs: Math.round(performance.now() - started) };
  }
  ctx.progress({ message: `pg_restore --clean into ${redactUrl(source.url!)}`, status: 'running' });
  const { restorePostgres } = await import('./postgres.js');
  const tables = await restorePostgres(source.url!, dumpFile, m.tables, ctx.signal);
  const wrong = tables.filter((t) => !t.ok);
  if (wrong.length) ctx.warn(`Row counts differ from the backup's after the restore (written to since?): ${wrong.map((t) => `${t.table} ${t.expected} → ${t.actual}`).join(', ')}.`);
  return { id: m.id, kind: m.kind, target: m.target, into: displayLocation(ctx, source), tables, previous: null, durationMs: Math.round(performance.now() - started) };
}

export interface PruneResult {
  dryRun: boolean;
  keepLast: number | null;
  keepDays: number | null;
  kept: ListedBackup[];
  deleted: ListedBackup[];
  freedBytes: number;
}

/**
 * Retention, per target: a backup stays if it is among the newest keepLast, or younger than
 * keepDays days; the newest backup of each target always stays.
 */
export function pruneBackups(ctx: OpContext, options: { keepLast?: number; keepDays?: number; dryRun: boolean; target?: string }, now = Date.now()): PruneResult {
  const keepLast = options.keepLast ?? ctx.config.backup.keepLast;
  const keepDays = options.keepDays ?? ctx.config.backup.keepDays;
  if (keepLast === undefined && keepDays === undefined) {
    throw new TwlError('TWL_INPUT_INVALID', 'No retention to apply: neither backup.keepLast nor backup.keepDays is configured, and no --keep-last or --keep-days was given.', {
      actions: ['Pass --keep-last N and/or --keep-days N, or set backup.keepLast / backup.keepDays in the configuration.'],
    });
  }
  const root = backupRoot(ctx.runtime.loaded);
  const all = listBackups(root, (dir, reason) => ctx.warn(`Left ${dir} alone: ${reason}`)).filter((b) => options.target === undefined || b.manifest.target === options.target);
  const seen = new Map<string, number>();
  const kept: StoredBackup[] = [];
  const doomed: StoredBackup[] = [];
  for (const b of all) {
    const rank = seen.get(b.manifest.target) ?? 0; // 0: the newest of its target
    seen.set(b.manifest.target, rank + 1);
    const young = keepDays !== undefined && now - Date.parse(b.manifest.createdAt) < keepDays * 86_400_000;
    const recent = keepLast !== undefined && rank < keepLast;
    (rank === 0 || young || recent ? kept : doomed).push(b);
  }
  if (!options.dryRun) for (const b of doomed) rmSync(b.dir, { recursive: true, force: true });
  return {
    dryRun: options.dryRun,
    keepLast: keepLast ?? null,
    keepDays: keepDays ?? null,
    kept: kept.map(summarize),
    deleted: doomed.map(summarize),
    freedBytes: doomed.reduce((s, b) => s + b.sizeBytes, 0),
  };
}
