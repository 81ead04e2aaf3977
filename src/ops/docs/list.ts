import { z } from 'zod';
import { listLibraries } from '../../docs/library.js';
import { defineOp, readOnly } from '../op.js';
import { version } from './schemas.js';

export default defineOp({
  id: 'docs.list',
  mcpName: 'docs_list_libraries',
  title: 'List indexed libraries',
  description: 'Every indexed documentation library, with its versions, pages and chunks.',
  input: z.object({}),
  output: z.object({ libraries: z.array(z.object({ id: z.string(), name: z.string(), description: z.string().nullable(), versions: z.array(version.extend({ source: z.string() })) })) }),
  annotations: readOnly,
  policy: { minRole: 'viewer', needsApproval: false, timeoutMs: 10_000 },
  async run(ctx) {
    return { libraries: await listLibraries(await ctx.store()) };
  },
});
