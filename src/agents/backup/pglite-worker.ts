// A scratch PGlite for backups, in its own worker thread: the copy a dump is taken from, the
// in-memory database a backup is verified in, and the fresh data directory a restore builds.
// PGlite and its pg_dump (WASM) run synchronously and cannot be cancelled, so they stay off
// the caller's thread; the caller terminates this worker on timeout or Ctrl-C.
// Self-contained on purpose (packages and node: only), so Node can load it from source too.
import { readFileSync, writeFileSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { PGlite } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';

type Request =
  | { id: number; type: 'query'; sql: string; params?: unknown[] }
  | { id: number; type: 'exec'; sql: string }
  /** Runs a SQL script from a file (a dump). */
  | { id: number; type: 'execFile'; path: string }
  /** pg_dump (plain SQL with INSERTs) of the whole database into a file. */
  | { id: number; type: 'dump'; path: string }
  | { id: number; type: 'close' };

const port = parentPort!;
const { dataDir } = workerData as { dataDir?: string };

// Nothing here may write to the process's stdout (pg_dump's wrapper warns with console.*):
// such lines go back to the caller, which logs them.
const forward = (...args: unknown[]) => port.postMessage({ type: 'log', message: args.map(String).join(' ') });
Object.assign(console, { log: forward, info: forward, warn: forward, error: forward, debug: forward });

const errorOf = (err: unknown) => ({ message: err instanceof Error ? err.message : String(err), code: (err as { code?: unknown })?.code });

try {
  // The store's engine loads pgvector (src/store/engine-worker.ts): its copies and dumps need it too.
  const db = await PGlite.create(dataDir, { extensions: { vector }, parsers: { 20: (v: string) => v, 1700: (v: string) => v } });
  port.on('message', async (req: Request) => {
    try {
      let result: unknown;
      if (req.type === 'query') {
        const res = await db.query(req.sql, req.params ?? []);
        result = { rows: res.rows, rowCount: res.affectedRows ?? res.rows.length };
      } else if (req.type === 'exec') {
        await db.exec(req.sql);
      } else if (req.type === 'execFile') {
        await db.exec(readFileSync(req.path, 'utf8'));
        // A dump empties search_path for its session: back to the default for what follows.
        await db.exec('SET search_path TO "$user", public');
      } else if (req.type === 'dump') {
        const { pgDump } = await import('@electric-sql/pglite-tools/pg_dump');
        const file = await pgDump({ pg: db });
        writeFileSync(req.path, Buffer.from(await file.arrayBuffer()), { mode: 0o600 });
        result = { bytes: file.size };
      } else {
        await db.close();
        port.postMessage({ id: req.id, ok: true });
        port.close();
        return;
      }
      port.postMessage({ id: req.id, ok: true, result });
    } catch (err) {
      port.postMessage({ id: req.id, ok: false, error: errorOf(err) });
    }
  });
  port.postMessage({ type: 'ready' });
} catch (err) {
  port.postMessage({ type: 'fatal', error: errorOf(err) });
}
