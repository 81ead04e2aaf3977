import { z } from 'zod';
import { findVersion } from '../../docs/search.js';
import { searchDocs } from '../../docs/vectors.js';
import { syncKnowledge, ticketQuery } from '../../docs/knowledge.js';
import { TwlError } from '../../runtime/errors.js';
import { defineOp, readOnly } from '../op.js';
import { hit, libraryId, searchMode, toResult } from './schemas.js';

export default defineOp({
  id: 'docs.search',
  mcpName: 'docs_search',
  title: 'Search the documentation index',
  description: 'Searches every indexed library (or one), ranked by relevance: full-text (headings weigh most, then page titles, prose and code; English and French both found), fused by reciprocal rank with vector search when docs.embeddings.model is set (a question then finds what answers it in other words). With ticket, searches what matches that ticket\'s title and text (the runbooks and resolved tickets, /twl/runbooks and /twl/tickets, brought up to date first).',
  input: z.object({
    query: z.string().max(2000).optional().describe('The words or question to look for (required unless ticket is given).'),
    library: libraryId.optional().describe('Only this library (id from twl docs list).'),
    ticket: z.number().int().positive().optional().describe('Search with this ticket\'s title and text.'),
    limit: z.number().int().min(1).max(100).default(10),
  }),
  output: z.object({ query: z.string(), mode: searchMode, results: z.array(hit) }),
  annotations: readOnly,
  policy: { minRole: 'viewer', needsApproval: false, timeoutMs: 15_000 },
  async run(ctx, input) {
    const store = await ctx.store();
    const query = input.ticket !== undefined ? await ticketQuery(store, input.ticket, input.query) : input.query;
    // For a ticket, what the team knows must be current: runbooks and resolutions indexed first.
    if (input.ticket !== undefined || input.library?.startsWith('/twl/')) await syncKnowledge(ctx, store);
    if (!query?.trim()) throw new TwlError('TWL_INPUT_INVALID', 'Nothing to search: give a query, or a ticket number.', { actions: ['twl docs search "connection pool" or twl docs search --ticket 42'] });
    const versionIds = input.library ? [(await findVersion(store, input.library)).versionId] : undefined;
    const { hits, mode } = await searchDocs(ctx, store, query, { versionIds, limit: input.limit });
    return { query, mode, results: hits.map(toResult) };
  },
});
