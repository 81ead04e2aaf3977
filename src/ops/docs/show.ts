import { z } from 'zod';
import { showVersion } from '../../docs/library.js';
import { defineOp, readOnly } from '../op.js';
import { libraryId } from './schemas.js';

export default defineOp({
  id: 'docs.show',
  mcpName: 'docs_get_library',
  title: 'Show an indexed library',
  description: 'One library version: its source, when it was indexed, and its pages with their chunk counts.',
  input: z.object({ library: libraryId }),
  output: z.object({
    libraryId: z.string(),
    name: z.string(),
    description: z.string().nullable(),
    version: z.string(),
    source: z.string(),
    options: z.record(z.string(), z.unknown()),
    indexedAt: z.string(),
    chunks: z.number().int(),
    pages: z.array(z.object({ location: z.string(), url: z.string(), title: z.string(), chunks: z.number().int(), etag: z.string().nullable() })),
  }),
  annotations: readOnly,
  policy: { minRole: 'viewer', needsApproval: false, timeoutMs: 10_000 },
  async run(ctx, { library }) {
    return showVersion(await ctx.store(), library);
  },
});
