import { z } from 'zod';
import { describeTable } from '../../agents/database/inspect.js';
import { defineOp, readOnly } from '../op.js';
import { backendOutput, targetInput } from './schemas.js';

export default defineOp({
  id: 'db.describe',
  mcpName: 'database_describe_table',
  title: 'Describe a table',
  description: 'Columns (type, nullability, default), indexes, estimated rows and size of one table or view; name it as table or schema.table.',
  input: z.object({
    table: z.string().min(1, 'expected a table name').max(200).describe('table or schema.table.'),
    target: targetInput,
  }),
  output: z.object({
    target: z.string(),
    backend: backendOutput,
    schema: z.string(),
    name: z.string(),
    kind: z.string(),
    columns: z.array(z.object({ name: z.string(), type: z.string(), nullable: z.boolean(), default: z.string().nullable() })),
    indexes: z.array(z.object({ name: z.string(), definition: z.string(), unique: z.boolean(), primary: z.boolean() })),
    rowEstimate: z.number().nullable(),
    sizeBytes: z.number(),
  }),
  annotations: readOnly,
  policy: { minRole: 'viewer', needsApproval: false, timeoutMs: 30_000 },
  async run(ctx, { table, target }) {
    const { name, store } = await ctx.target(target);
    return { target: name, backend: store.backend, ...(await describeTable(store, table)) };
  },
});
