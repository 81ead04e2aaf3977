import { z } from 'zod';
import { listTables } from '../../agents/database/inspect.js';
import { defineOp, readOnly } from '../op.js';
import { backendOutput, targetInput } from './schemas.js';

export default defineOp({
  id: 'db.tables',
  mcpName: 'database_list_tables',
  title: 'List tables',
  description: 'Lists the tables, views and materialized views (system schemas excluded) with their kind, estimated rows and size on disk.',
  input: z.object({
    schema: z.string().min(1).optional().describe('Only this schema.'),
    target: targetInput,
  }),
  output: z.object({
    target: z.string(),
    backend: backendOutput,
    tables: z.array(z.object({ schema: z.string(), name: z.string(), kind: z.string(), rowEstimate: z.number().nullable(), sizeBytes: z.number() })),
  }),
  annotations: readOnly,
  policy: { minRole: 'viewer', needsApproval: false, timeoutMs: 30_000 },
  async run(ctx, { schema, target }) {
    const { name, store } = await ctx.target(target);
    return { target: name, backend: store.backend, tables: await listTables(store, schema) };
  },
});
