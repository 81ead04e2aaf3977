import { z } from 'zod';
import { refreshDocs } from '../../docs/ingest.js';
import { findVersion } from '../../docs/search.js';
import { defineOp } from '../op.js';
import { indexReport, libraryId } from './schemas.js';

export default defineOp({
  id: 'docs.refresh',
  mcpName: 'docs_refresh_library',
  title: 'Refresh indexed documentation',
  description: 'Reads a library version again from its source, with the options it was added with: only pages that changed are re-read and re-indexed (ETag / Last-Modified on sites, content hash on files); vanished pages are removed.',
  input: z.object({ library: libraryId }),
  output: indexReport,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  policy: { minRole: 'manager', needsApproval: false, timeoutMs: 30 * 60_000 },
  async run(ctx, { library }) {
    const ref = await findVersion(await ctx.store(), library);
    return refreshDocs(ctx, ref.libraryId, ref.version);
  },
});
