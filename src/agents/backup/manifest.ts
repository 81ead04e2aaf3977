import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, existsSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import type { LoadedConfig } from '../../runtime/config.js';
import { TwlError, messageOf } from '../../runtime/errors.js';

export const MANIFEST = 'manifest.json';

export const backupKinds = ['embedded', 'postgres'] as const;
export type BackupKind = (typeof backupKinds)[number];

const fileEntry = z.object({
  /** Relative to the backup's directory. */
  name: z.string(),
  role: z.enum(['dump', 'config']),
  size: z.number().int(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});

export const verificationSchema = z.object({
  at: z.string(),
  ok: z.boolean(),
  /** Why it failed, when it did. */
  error: z.string().nullable(),
});

export const manifestSchema = z.object({
  format: z.literal(1),
  id: z.string(),
  kind: z.enum(backupKinds),
  target: z.string(),
  /** The data directory, or the connection URL without its password. */
  source: z.string(),
  createdAt: z.string(),
  twlVersion: z.string(),
  /** How the dump was made and how it restores. */
  dump: z.object({
    tool: z.string(),
    format: z.enum(['pglite-sql', 'pg_dump-custom']),
    serverVersion: z.string().nullable(),
  }),
  files: z.array(fileEntry),
  /** Exact rows per `schema.table` in the dumped snapshot. */
  tables: z.record(z.string(), z.number().int()),
  config: z
    .object({
      file: z.string().describe('Relative to the backup directory.'),
      source: z.string(),
      note: z.string(),
      /** Keys that came from the environment (names only), not in the copied file. */
      fromEnv: z.array(z.string()),
    })
    .nullable(),
  verified: verificationSchema.nullable(),
});

export type Manifest = z.output<typeof manifestSchema>;
export type FileEntry = z.output<typeof fileEntry>;

/** Where backups live: backup.dir (relative to the data directory when relative), else <data dir>/backups. */
export const backupRoot = (loaded: LoadedConfig): string => path.resolve(loaded.home, loaded.config.backup.dir ?? 'backups');

/** A sortable, timestamp-based id: `20260115T103012345Z-store-1a2b`. */
export function newBackupId(target: string, now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:.]/g, '');
  return `${stamp}-${target}-${randomBytes(2).toString('hex')}`;
}

export const validId = /^\d{8}T\d{9}Z-[A-Za-z][\w-]*-[0-9a-f]{4}$/;

export function sha256File(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(file)
      .on('error', reject)
      .on('data', (chunk) => hash.update(chunk))
      .on('end', () => resolve(hash.digest('hex')));
  });
}

export async function describeFile(dir: string, name: string, role: FileEntry['role']): Promise<FileEntry> {
  const full = path.join(dir, name);
  return { name, role, size: statSync(full).size, sha256: await sha256File(full) };
}

/** Writes the manifest atomically (a reader never sees half of it). */
export function writeManifest(dir: string, manifest: Manifest): void {
  const tmp = path.join(dir, `.${MANIFEST}.${process.pid}.tmp`);
  writeFileSync(tmp, `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, path.join(dir, MANIFEST));
}

export function readManifest(dir: string): Manifest {
  const file = path.join(dir, MANIFEST);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new TwlError('TWL_BACKUP_CORRUPT', `Cannot read the manifest ${file}: ${messageOf(err)}`);
  }
  const parsed = manifestSchema.safeParse(raw);
  if (!parsed.success) throw new TwlError('TWL_BACKUP_CORRUPT', `The manifest ${file} is not a twl backup manifest: ${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message}`);
  return parsed.data;
}

export interface StoredBackup {
  dir: string;
  manifest: Manifest;
  sizeBytes: number;
}

/**
 * Every complete backup under root, newest first. A backup in progress lives in a dot
 * directory and is not listed; an unreadable manifest is reported through `skipped`.
 */
export function listBackups(root: string, skipped: (dir: string, reason: string) => void = () => undefined): StoredBackup[] {
  if (!existsSync(root)) return [];
  const out: StoredBackup[] = [];
  for (const entry of readdirSync(root, { withFileTypes: true })) {
    if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
    const dir = path.join(root, entry.name);
    if (!existsSync(path.join(dir, MANIFEST))) continue;
    try {
      const manifest = readManifest(dir);
      out.push({ dir, manifest, sizeBytes: manifest.files.reduce((sum, f) => sum + f.size, 0) });
    } catch (err) {
      skipped(dir, messageOf(err));
    }
  }
  return out.sort((a, b) => b.manifest.createdAt.localeCompare(a.manifest.createdAt) || b.manifest.id.localeCompare(a.manifest.id));
}

/** One backup by id (`latest`: the newest, of `target` when given). */
export function findBackup(root: string, id: string | undefined, target?: string): StoredBackup {
  if (id && id !== 'latest') {
    if (!validId.test(id)) throw new TwlError('TWL_INPUT_INVALID', `"${id}" is not a backup id (like 20260115T103012345Z-store-1a2b); run \`twl backup list\` to see them.`);
    const dir = path.join(root, id);
    if (!existsSync(path.join(dir, MANIFEST))) throw new TwlError('TWL_PATH_NOT_FOUND', `No backup ${id} in ${root}.`, { actions: ['Run `twl backup list` to see the backups.'] });
    const manifest = readManifest(dir);
    return { dir, manifest, sizeBytes: manifest.files.reduce((sum, f) => sum + f.size, 0) };
  }
  const newest = listBackups(root).find((b) => target === undefined || b.manifest.target === target);
  if (!newest) {
    throw new TwlError('TWL_PATH_NOT_FOUND', `No backup${target ? ` of ${target}` : ''} in ${root} yet.`, { actions: [`Create one with \`twl backup create${target && target !== 'store' ? ` --target ${target}` : ''}\`.`] });
  }
  return newest;
}

export interface ChecksumCheck {
  file: string;
  ok: boolean;
}

/** Checks every file's size and sha256 against the manifest; the first mismatch throws TWL_BACKUP_CORRUPT naming the file. */
export async function checkFiles(backup: StoredBackup): Promise<ChecksumCheck[]> {
  const checks: ChecksumCheck[] = [];
  for (const f of backup.manifest.files) {
    const full = path.join(backup.dir, f.name);
    if (!existsSync(full)) throw new TwlError('TWL_BACKUP_CORRUPT', `Backup ${backup.manifest.id} is missing its file ${full}.`, { details: { id: backup.manifest.id, file: f.name } });
    const sha = await sha256File(full);
    if (sha !== f.sha256) {
      throw new TwlError('TWL_BACKUP_CORRUPT', `Checksum mismatch for ${full}: sha256 is ${sha}, the manifest recorded ${f.sha256} (the file changed since the backup was made).`, {
        details: { id: backup.manifest.id, file: f.name, expected: f.sha256, actual: sha },
      });
    }
    checks.push({ file: f.name, ok: true });
  }
  return checks;
}

/** twl's own version, from its package.json (found above this module, in the source tree and in dist/). */
export function twlVersion(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const file = path.join(dir, 'package.json');
    if (existsSync(file)) {
      try {
        const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
        if (pkg.name === 'twisterlab' && pkg.version) return pkg.version;
      } catch {
        // not ours; keep looking
      }
    }
    dir = path.dirname(dir);
  }
  return 'unknown';
}
