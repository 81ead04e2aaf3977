// The embedded PostgreSQL (PGlite) runs in this worker thread, never on the main thread:
// PGlite executes a statement synchronously and cannot cancel it, so a worker is the only
// way to keep the caller responsive and enforce a timeout (the caller terminates us).
// Self-contained on purpose (packages and node: only), so Node can load it from source too.
import { parentPort, workerData } from 'node:worker_threads';
import { PGlite } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';

/*
 * Memory (`npm run bench -- host-memory`). PGlite's defaults cost a host ~530 MB resident,
 * idle on a store of 10,000 tickets; these two bring it to ~250 MB:
 * - shared_buffers: PostgreSQL's default 128 MB buffer pool lives in the WASM heap and fills
 *   as pages are read; 16 MB holds twl's working set (the OS caches the data files anyway).
 * - lazy WebAssembly compilation: only the functions that run get compiled, not all of
 *   PostgreSQL (9 MB of WASM). It is V8's default on every Node.js twl runs on (20 and later),
 *   so nothing sets it. This thread used to set it with v8.setFlagsFromString at each start:
 *   V8's flags are the process's, and changing one while other threads run is unsafe (Node's
 *   documentation: "may result in unpredictable behavior, including crashes"), and a CLI
 *   interrupted mid-statement starts a second engine while the first one's thread goes away.
 * What remains: the WASM heap cannot start below the 128 MB (2048 pages) the module declares,
 * and it never shrinks: a host that ran a big statement (an import) keeps its peak.
 */
const startParams = [...PGlite.defaultStartParams, '-c', 'shared_buffers=16MB'];

/*
 * pgvector (docs vector search, src/docs/vectors.ts) is always loaded: a data dir where it was
 * created needs it to read its tables. It costs a 50 KB bundle unpacked at start (engine start
 * median 210 → 221 ms, 12 interleaved runs each); the library itself loads on first use.
 */
const extensions = { vector };

interface Options {
  dataDir: string;
}

type Request =
  | { id: number; type: 'query'; sql: string; params?: unknown[] }
  | { id: number; type: 'exec'; sql: string }
  /** Wire-protocol messages of a client of the host (src/store/host-server.ts), answered as they come. */
  | { id: number; type: 'protocol'; messages: Uint8Array[] }
  | { id: number; type: 'close' };

const options = workerData as Options;
const port = parentPort!;

const errorOf = (err: unknown) => {
  const e = err as Record<string, unknown>;
  return {
    message: err instanceof Error ? err.message : String(err),
    code: typeof e?.code === 'string' ? e.code : undefined,
    detail: typeof e?.detail === 'string' ? e.detail : undefined,
    hint: typeof e?.hint === 'string' ? e.hint : undefined,
    position: typeof e?.position === 'string' ? e.position : undefined,
  };
};

try {
  // int8 and numeric come back as strings, as with `pg`, so both backends give the same values.
  const db = await PGlite.create(options.dataDir, { startParams, extensions, parsers: { 20: (v: string) => v, 1700: (v: string) => v } });
  port.on('message', async (req: Request) => {
    try {
      if (req.type === 'query') {
        const res = await db.query(req.sql, req.params ?? []);
        port.postMessage({ id: req.id, ok: true, result: { rows: res.rows, fields: res.fields, rowCount: res.affectedRows ?? res.rows.length } });
      } else if (req.type === 'exec') {
        await db.exec(req.sql);
        port.postMessage({ id: req.id, ok: true });
      } else if (req.type === 'protocol') {
        await db.runExclusive(async () => {
          for (const message of req.messages) {
            await db.execProtocolRawStream(message, {
              onRawData: (data) => {
                const chunk = data.slice();
                port.postMessage({ id: req.id, chunk }, [chunk.buffer]);
              },
            });
          }
        });
        port.postMessage({ id: req.id, ok: true, result: { inTransaction: db.isInTransaction() } });
      } else {
        await db.close();
        port.postMessage({ id: req.id, ok: true });
        port.close();
      }
    } catch (err) {
      port.postMessage({ id: req.id, ok: false, error: errorOf(err) });
    }
  });
  port.postMessage({ type: 'ready' });
} catch (err) {
  port.postMessage({ type: 'fatal', error: errorOf(err) });
}
