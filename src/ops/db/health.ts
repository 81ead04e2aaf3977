import { z } from 'zod';
import { databaseHealth } from '../../agents/database/inspect.js';
import { messageOf } from '../../runtime/errors.js';
import { defineOp, readOnly } from '../op.js';
import { backendOutput, targetInput } from './schemas.js';

export default defineOp({
  id: 'db.health',
  mcpName: 'database_db_health',
  title: 'Database health',
  description: 'Whether the database answers, with its version, round-trip latency, size and connections. An unreachable database is reported (reachable: false), not thrown.',
  input: z.object({ target: targetInput }),
  output: z.object({
    target: z.string(),
    backend: backendOutput.nullable(),
    reachable: z.boolean(),
    version: z.string().nullable(),
    latencyMs: z.number().nullable(),
    sizeBytes: z.number().nullable(),
    database: z.string().nullable(),
    connections: z.number().nullable(),
    maxConnections: z.number().nullable(),
    error: z.string().nullable(),
  }),
  annotations: { ...readOnly, idempotentHint: true },
  policy: { minRole: 'viewer', needsApproval: false, timeoutMs: 15_000 },
  async run(ctx, { target }) {
    let opened: { name: string; store: Awaited<ReturnType<typeof ctx.store>> };
    try {
      opened = await ctx.target(target);
    } catch (err) {
      if ((err as { code?: string }).code === 'TWL_TARGET_UNKNOWN') throw err;
      const none = { version: null, latencyMs: null, sizeBytes: null, database: null, connections: null, maxConnections: null };
      return { target: target ?? 'store', backend: null, reachable: false, ...none, error: messageOf(err) };
    }
    return { target: opened.name, backend: opened.store.backend, ...(await databaseHealth(opened.store)) };
  },
});
