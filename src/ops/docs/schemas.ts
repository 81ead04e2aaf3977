import { z } from 'zod';
import type { Hit } from '../../docs/search.js';

export const libraryId = z.string().min(2).max(300).describe('A library id from resolve-library-id or twl docs list: /KIND/NAME, optionally @VERSION (e.g. /npm/zod or /npm/zod@4.1).');

export const skipped = z.array(z.object({ location: z.string(), reason: z.string() })).describe('Files or pages not indexed, each with the reason.');

export const indexReport = z.object({
  libraryId: z.string(),
  name: z.string(),
  version: z.string(),
  source: z.string(),
  pages: z.number().int(),
  changed: z.number().int().describe('Pages read and (re)indexed.'),
  unchanged: z.number().int().describe('Pages whose content hash or ETag said they had not changed: kept as they were.'),
  removed: z.number().int().describe('Pages gone from the source, removed from the index.'),
  chunks: z.number().int(),
  requests: z.number().int().describe('Files read or HTTP requests made.'),
  embedded: z.number().int().optional().describe('Chunks given an embedding by this run (docs.embeddings.model): the new ones, or all after the model changed.'),
  skipped,
});

export const hit = z.object({
  libraryId: z.string(),
  version: z.string(),
  title: z.string().describe('The page title.'),
  headings: z.array(z.string()).describe('The heading path of the chunk, outermost first.'),
  content: z.string().describe('The chunk as Markdown; code blocks whole, with their language.'),
  languages: z.array(z.string()),
  tokens: z.number().int(),
  source: z.string().describe('The URL or file it comes from.'),
  score: z.number(),
});

export const searchMode = z.enum(['full-text', 'hybrid']).describe('hybrid: full-text and vector search fused by reciprocal rank (docs.embeddings.model); full-text: words only (no model set, or vectors unavailable: a warning says why).');

export const version = z.object({ version: z.string(), id: z.string(), chunks: z.number().int(), pages: z.number().int(), indexedAt: z.string() });

/** A search hit as the tools answer it: its source is the URL or file a reader opens. */
export const toResult = (h: Hit): z.output<typeof hit> => ({ libraryId: h.libraryId, version: h.version, title: h.title, headings: h.headings, content: h.content, languages: h.languages, tokens: h.tokens, source: h.url, score: h.score });
