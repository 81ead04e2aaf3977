import { randomBytes } from 'node:crypto';
import type { Client } from 'pg';
import { TwlError, messageOf } from '../../runtime/errors.js';
import { redactText, redactUrl } from '../../runtime/redact.js';
import { compareCounts, rowCounts, type CountCheck, type Querier } from './catalog.js';

/**
 * A libpq connection for the client tools, with the password moved out of the URL into
 * PGPASSWORD of the child's environment: it never appears on a command line (ps) or in a log.
 */
export function libpqConnection(url: string, database?: string): { dbname: string; env: Record<string, string> } {
  const u = new URL(url);
  const password = u.password ? decodeURIComponent(u.password) : (u.searchParams.get('password') ?? undefined);
  u.password = '';
  u.searchParams.delete('password');
  if (database) u.pathname = `/${encodeURIComponent(database)}`;
  return { dbname: u.toString(), env: password === undefined ? {} : { PGPASSWORD: password } };
}

const withDatabase = (url: string, database: string): string => {
  const u = new URL(url);
  u.pathname = `/${encodeURIComponent(database)}`;
  return u.toString();
};

async function connect(url: string): Promise<Client> {
  const { default: pg } = await import('pg');
  // int8 counts come back as strings; Number() them where needed.
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (err) {
    await client.end().catch(() => undefined);
    throw new TwlError('TWL_STORE_UNAVAILABLE', `PostgreSQL at ${redactUrl(url)} is unreachable: ${redactText(messageOf(err))}`, { cause: err });
  }
  return client;
}

const querier = (client: Client): Querier => ({ query: async (sql, params) => ({ rows: (await client.query(sql, params)).rows }) });

interface ToolRun {
  exitCode: number | undefined;
  stderr: string;
}

/** Runs a PostgreSQL client tool (never through a shell); a missing tool is TWL_TOOL_MISSING. */
async function runTool(tool: 'pg_dump' | 'pg_restore', args: string[], env: Record<string, string>, signal?: AbortSignal): Promise<ToolRun> {
  const { execa } = await import('execa');
  const result = await execa(tool, args, { env, reject: false, cancelSignal: signal, stdin: 'ignore', maxBuffer: 16 * 1024 * 1024 });
  if ((result as { code?: string }).code === 'ENOENT' || /ENOENT/.test(String(result.message ?? ''))) {
    throw new TwlError('TWL_TOOL_MISSING', `${tool} is not installed (not found on PATH); backups of PostgreSQL use it.`, {
      actions: ['Install the PostgreSQL client tools (Debian/Ubuntu: apt-get install postgresql-client; macOS: brew install libpq), in a version at least the server\'s.'],
    });
  }
  if (result.isCanceled) throw new TwlError('TWL_INTERRUPTED', `Interrupted: ${tool} was stopped.`);
  return { exitCode: result.exitCode, stderr: redactText(String(result.stderr ?? '')).trim() };
}

export async function toolVersion(tool: 'pg_dump' | 'pg_restore'): Promise<string> {
  const { execa } = await import('execa');
  const r = await execa(tool, ['--version'], { reject: false, stdin: 'ignore' });
  if (r.failed) throw new TwlError('TWL_TOOL_MISSING', `${tool} is not installed (not found on PATH); backups of PostgreSQL use it.`, { actions: ['Install the PostgreSQL client tools (postgresql-client).'] });
  return String(r.stdout).trim();
}

const toolFailed = (tool: string, what: string, run: ToolRun): TwlError => {
  const tail = run.stderr.split('\n').slice(-6).join('\n');
  if (/server version mismatch/i.test(run.stderr)) {
    return new TwlError('TWL_TOOL_MISSING', `${tool} is older than the server: ${tail}`, { actions: [`Install a ${tool} of the server's major version or newer, first on PATH.`] });
  }
  return new TwlError('TWL_BACKUP_FAILED', `${tool} failed ${what} (exit ${run.exitCode}): ${tail || 'no message'}`);
};

export interface PgDumpResult {
  tables: Record<string, number>;
  serverVersion: string | null;
  tool: string;
}

/**
 * pg_dump in the custom format. The row counts come from the very snapshot pg_dump dumps:
 * a REPEATABLE READ transaction exports its snapshot, pg_dump runs with --snapshot, and the
 * counts are taken in that transaction while it stays open.
 */
export async function dumpPostgres(url: string, file: string, signal?: AbortSignal): Promise<PgDumpResult> {
  const tool = await toolVersion('pg_dump');
  const client = await connect(url);
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const snapshot = (await client.query<{ s: string }>('SELECT pg_export_snapshot() AS s')).rows[0]!.s;
    const serverVersion = (await client.query<{ server_version: string }>('SHOW server_version')).rows[0]?.server_version ?? null;
    const { dbname, env } = libpqConnection(url);
    const dump = runTool('pg_dump', ['--format=custom', '--no-password', `--snapshot=${snapshot}`, `--file=${file}`, `--dbname=${dbname}`], env, signal);
    const tables = await rowCounts(querier(client));
    const run = await dump;
    if (run.exitCode !== 0) throw toolFailed('pg_dump', `dumping ${redactUrl(url)}`, run);
    await client.query('COMMIT');
    return { tables, serverVersion, tool };
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** pg_restore into a scratch database made for the purpose (twl_verify_<random>), counts its rows, and drops it whatever happens. */
export async function verifyPostgresDump(url: string, file: string, signal?: AbortSignal): Promise<{ counts: Record<string, number>; database: string }> {
  await toolVersion('pg_restore');
  const database = `twl_verify_${randomBytes(6).toString('hex')}`;
  const admin = await connect(url);
  try {
    try {
      await admin.query(`CREATE DATABASE "${database}"`);
    } catch (err) {
      throw new TwlError('TWL_BACKUP_FAILED', `Cannot create the scratch database ${database} to verify in, on ${redactUrl(url)}: ${redactText(messageOf(err))}`, {
        actions: ['Verify with a role that may CREATE DATABASE (CREATEDB), or on a server where it may.'],
      });
    }
    try {
      const { dbname, env } = libpqConnection(url, database);
      const run = await runTool('pg_restore', ['--no-owner', '--no-acl', '--exit-on-error', '--no-password', `--dbname=${dbname}`, file], env, signal);
      if (run.exitCode !== 0) {
        if (/input file (appears to be a text format dump|does not appear to be a valid archive)|could not read|unexpected end of file|corrupt/i.test(run.stderr)) {
          throw new TwlError('TWL_BACKUP_CORRUPT', `The dump ${file} does not restore: ${run.stderr.split('\n').slice(-4).join('\n')}`);
        }
        throw toolFailed('pg_restore', `restoring into the scratch database ${database}`, run);
      }
      const scratch = await connect(withDatabase(url, database));
      try {
        return { counts: await rowCounts(querier(scratch)), database };
      } finally {
        await scratch.end().catch(() => undefined);
      }
    } finally {
      await admin.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`).catch(async () => admin.query(`DROP DATABASE IF EXISTS "${database}"`).catch(() => undefined));
    }
  } finally {
    await admin.end().catch(() => undefined);
  }
}

/** pg_restore --clean --if-exists into the database itself, in one transaction (all or nothing), then its row counts against the manifest's. */
export async function restorePostgres(url: string, file: string, expected: Record<string, number>, signal?: AbortSignal): Promise<CountCheck[]> {
  await toolVersion('pg_restore');
  const { dbname, env } = libpqConnection(url);
  const run = await runTool('pg_restore', ['--clean', '--if-exists', '--single-transaction', '--exit-on-error', '--no-password', `--dbname=${dbname}`, file], env, signal);
  if (run.exitCode !== 0) throw toolFailed('pg_restore', `restoring into ${redactUrl(url)} (nothing was changed: it runs in one transaction)`, run);
  const client = await connect(url);
  try {
    const actual = await rowCounts(querier(client));
    // Tables made after the backup are not the backup's to judge.
    return compareCounts(expected, Object.fromEntries(Object.entries(actual).filter(([t]) => t in expected)));
  } finally {
    await client.end().catch(() => undefined);
  }
}
