import { z } from 'zod';
import { bumpGeneration } from '../../docs/cached.js';
import { removeLibrary } from '../../docs/library.js';
import { defineOp } from '../op.js';
import { libraryId } from './schemas.js';

export default defineOp({
  id: 'docs.remove',
  mcpName: 'docs_remove_library',
  title: 'Remove indexed documentation',
  description: 'Removes one version of a library (an id with @VERSION), or the library with all its versions (an id without).',
  input: z.object({ library: libraryId }),
  output: z.object({ libraryId: z.string(), versions: z.array(z.string()).describe('The versions removed.'), chunks: z.number().int() }),
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
  policy: { minRole: 'manager', needsApproval: true, timeoutMs: 60_000 },
  async run(ctx, { library }) {
    const removed = await removeLibrary(await ctx.store(), library);
    await bumpGeneration(ctx);
    return removed;
  },
});
