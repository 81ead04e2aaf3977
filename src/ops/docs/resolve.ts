import { z } from 'zod';
import { cachedAnswer } from '../../docs/cached.js';
import { matchLibraries } from '../../docs/search.js';
import { defineOp, readOnly } from '../op.js';
import { version } from './schemas.js';

export default defineOp({
  id: 'docs.resolve',
  // Context7's tool name and arguments, so prompts written for it work unchanged.
  mcpName: 'resolve-library-id',
  title: 'Resolve a library id',
  description:
    'Finds the indexed documentation libraries matching a name (typo-tolerant), with their ids (e.g. /npm/zod or /npm/zod@4.1), descriptions, versions and snippet counts. ' +
    'Call it first to get the libraryId that query-docs needs.',
  input: z.object({
    libraryName: z.string().min(1).max(200).describe('The library or package name to look for, e.g. "zod".'),
    query: z.string().max(2000).optional().describe('What you want to know (accepted for compatibility; the ranking uses the name).'),
  }),
  output: z.object({
    libraryName: z.string(),
    libraries: z.array(z.object({ id: z.string(), name: z.string(), description: z.string().nullable(), versions: z.array(version), snippets: z.number().int(), score: z.number() })),
    matchedBy: z.enum(['trigram', 'edit-distance']).describe('trigram: pg_trgm similarity; edit-distance: the store has no pg_trgm (the embedded store).'),
    cached: z.boolean(),
  }),
  annotations: readOnly,
  policy: { minRole: 'viewer', needsApproval: false, timeoutMs: 10_000 },
  async run(ctx, { libraryName }) {
    const { value, cached } = await cachedAnswer(ctx, 'resolve', { libraryName }, async () => {
      const { matches, method } = await matchLibraries(await ctx.store(), libraryName, { limit: 10 });
      return { libraries: matches, matchedBy: method };
    });
    return { libraryName, ...value, cached };
  },
});
