import { z } from 'zod';
import { defineOp, readOnly } from '../op.js';
import { namespaceOfTool } from '../../tools/types.js';

const hit = z.object({
  name: z.string(),
  title: z.string(),
  description: z.string(),
  source: z.string(),
  namespace: z.string(),
  readOnly: z.boolean(),
  score: z.number(),
});

/**
 * Ranks the catalog for a query, for clients that cannot hold hundreds of tools: MiniSearch's
 * BM25 over each tool's name (split at _ - . and case changes), title and description, names
 * and titles weighted above descriptions, with prefix and small-typo matching. Only the tools
 * the caller may list are searched (its role, its key's namespaces), so a search never reveals
 * a tool the caller could not call.
 */
export default defineOp({
  id: 'tools.search',
  mcpName: 'tools_search',
  title: 'Search the tool catalog',
  description:
    'Finds the tools (twl\'s own and the upstreams\') that match a query, best first: name, title and description, ranked by relevance (BM25, prefix and small typos matched). ' +
    'Only the tools this caller may call are searched. Use it to pick a tool among many, then call it by name.',
  input: z.object({
    query: z.string().trim().min(1).max(500).describe('Words to look for, e.g. "create ticket" or "memory graph".'),
    limit: z.number().int().min(1).max(100).default(10).describe('Most tools returned.'),
  }),
  output: z.object({ query: z.string(), total: z.number().int(), tools: z.array(hit) }),
  annotations: readOnly,
  policy: { minRole: 'viewer', needsApproval: false, timeoutMs: 60_000 },
  async run(ctx, { query, limit }) {
    const tools = await ctx.tools.list({ ...(ctx.role ? { role: ctx.role } : {}), ...(ctx.namespaces ? { namespaces: ctx.namespaces } : {}) });
    const { default: MiniSearch } = await import('minisearch');
    const index = new MiniSearch<{ id: number; name: string; title: string; description: string }>({
      fields: ['name', 'title', 'description'],
      // A tool name's words: memory_create_entities → memory, create, entities; getTinyImage → get, tiny, image.
      tokenize: (text) => text.split(/[\s_.\-/:,;()[\]{}"'`]+|(?<=[a-z0-9])(?=[A-Z])/u).filter(Boolean),
      processTerm: (term) => (term.length > 1 ? term.toLowerCase() : null),
      searchOptions: { boost: { name: 3, title: 2 }, prefix: true, fuzzy: 0.2, combineWith: 'OR' },
    });
    index.addAll(tools.map((t, id) => ({ id, name: t.name, title: t.title, description: t.description })));
    const found = index.search(query);
    return {
      query,
      total: found.length,
      tools: found.slice(0, limit).map((r) => {
        const t = tools[r.id as number]!;
        return { name: t.name, title: t.title, description: t.description.slice(0, 500), source: t.source, namespace: namespaceOfTool(t), readOnly: t.annotations.readOnlyHint, score: Math.round(r.score * 1000) / 1000 };
      }),
    };
  },
});
