import { z } from 'zod';
import { localPath } from '../schemas.js';
import { addDocs } from '../../docs/ingest.js';
import { defineOp } from '../op.js';
import { indexReport } from './schemas.js';

export default defineOp({
  id: 'docs.add',
  mcpName: 'docs_add_library',
  title: 'Index documentation',
  description:
    'Indexes documentation as one library version: a local folder or file (Markdown, MDX, HTML, text, reStructuredText), an installed npm package (npm:NAME, read from node_modules, offline), a local git repository at a ref (git:PATH@REF, read with git, the working tree untouched), or an http(s) site (crawled on its origin: robots.txt, sitemap.xml, llms.txt, depth and globs, a rate limit). ' +
    'All or nothing: a failure leaves the version indexed before searchable. Adding a version again re-reads only what changed.',
  input: z.object({
    source: localPath().min(1).max(2000).describe('A folder or file path, npm:PACKAGE, git:PATH@REF, or an http(s):// URL.'),
    name: z.string().min(1).max(200).optional().describe('The library name (default: the package name, the site\'s host, or the folder\'s name).'),
    version: z.string().min(1).max(100).regex(/^[\w.+-]+$/, 'letters, digits, . + - and _').optional().describe('The version label (default: the package\'s version, the git ref, else "latest").'),
    depth: z.number().int().min(0).max(20).optional().describe('Sites: links followed from the start page (default docs.crawl.depth).'),
    include: z.array(z.string().min(1)).optional().describe('Sites: only URL paths matching one of these globs (e.g. /docs/**).'),
    exclude: z.array(z.string().min(1)).optional().describe('Sites: never URL paths matching these globs.'),
    maxPages: z.number().int().min(1).max(100_000).optional().describe('Sites: stop after this many pages (default docs.crawl.maxPages).'),
  }),
  output: indexReport,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  policy: { minRole: 'manager', needsApproval: false, timeoutMs: 30 * 60_000 },
  run: (ctx, input) => addDocs(ctx, input),
});
