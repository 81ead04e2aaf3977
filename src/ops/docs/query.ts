import { z } from 'zod';
import { cachedAnswer } from '../../docs/cached.js';
import { findVersion, withinBudget } from '../../docs/search.js';
import { searchDocs } from '../../docs/vectors.js';
import { defineOp, readOnly } from '../op.js';
import { hit, libraryId, searchMode, toResult } from './schemas.js';

export default defineOp({
  id: 'docs.query',
  // Context7's tool name and arguments, so prompts written for it work unchanged.
  mcpName: 'query-docs',
  title: 'Query a library\'s documentation',
  description:
    'Returns the documentation chunks of one library that best answer a question, within a token budget, each with its page, heading path and source (URL or file). ' +
    'Get the libraryId from resolve-library-id first.',
  input: z.object({
    libraryId,
    query: z.string().min(1).max(2000).describe('The question or topic, in English or French.'),
    tokens: z.number().int().min(100).max(100_000).optional().describe('Token budget of the answer (default docs.tokens, 5000).'),
  }),
  output: z.object({
    libraryId: z.string(),
    version: z.string(),
    query: z.string(),
    mode: searchMode,
    results: z.array(hit),
    tokens: z.number().int().describe('Tokens in the results (estimated at 4 characters a token).'),
    truncated: z.boolean().describe('More matching chunks did not fit in the budget.'),
    cached: z.boolean(),
  }),
  annotations: readOnly,
  policy: { minRole: 'viewer', needsApproval: false, timeoutMs: 15_000 },
  async run(ctx, input) {
    const budget = input.tokens ?? ctx.config.docs.tokens;
    const { value, cached } = await cachedAnswer(ctx, 'query', { ...input, tokens: budget, model: ctx.config.docs.embeddings.model ?? null }, async () => {
      const store = await ctx.store();
      const ref = await findVersion(store, input.libraryId);
      const { hits, mode } = await searchDocs(ctx, store, input.query, { versionIds: [ref.versionId], limit: 50 });
      const kept = withinBudget(hits, budget);
      return {
        libraryId: `${ref.libraryId}@${ref.version}`,
        version: ref.version,
        mode,
        results: kept.hits.map(toResult),
        tokens: kept.tokens,
        truncated: kept.truncated,
      };
    });
    return { ...value, query: input.query, cached };
  },
});
