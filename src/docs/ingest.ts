import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { OpContext } from '../runtime/context.js';
import { TwlError } from '../runtime/errors.js';
import { bumpGeneration } from './cached.js';
import { knownPages, saveVersion, type IndexReport } from './index-store.js';
import { gatherFiles } from './sources/local.js';
import { gatherNpm, packageDir } from './sources/npm.js';
import type { Gathered, GatherOptions, Skipped } from './sources/types.js';
import { gatherGit, parseGitSource } from './sources/git.js';
import { crawl } from './sources/web.js';
import { embedPending } from './vectors.js';

export interface AddOptions {
  source: string;
  name?: string;
  version?: string;
  depth?: number;
  include?: string[];
  exclude?: string[];
  maxPages?: number;
}

export interface AddResult extends Omit<IndexReport, 'versionId'> {
  name: string;
  source: string;
  skipped: Skipped[];
  requests: number;
  embedded?: number;
}

type Kind = 'npm' | 'web' | 'git' | 'local';

const kindOf = (source: string): Kind => (source.startsWith('npm:') ? 'npm' : source.startsWith('git:') ? 'git' : /^https?:\/\//i.test(source) ? 'web' : 'local');

/** A name usable in a library id: lowercase letters, digits, and . _ - / @ (npm scopes). */
const slug = (name: string) =>
  name
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9._@/-]+/g, '-')
    .replace(/^[-/]+|[-/]+$/g, '') || 'docs';

/**
 * Over MCP or REST a caller names paths on the server's disk: only inside docs.roots, so that a
 * key allowed to add documentation cannot have the server index (and serve to every viewer) any
 * file it can read. The CLI's user reads what they may read anyway.
 */
function checkRoot(ctx: OpContext, target: string): void {
  const inside = ctx.config.docs.roots.some((root) => {
    const relative = path.relative(path.resolve(root), target);
    return relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative));
  });
  if (!inside) {
    throw new TwlError('TWL_DOCS_SOURCE', `Refused to read ${target} for a ${ctx.face.toUpperCase()} caller: it is not inside docs.roots${ctx.config.docs.roots.length ? ` (${ctx.config.docs.roots.join(', ')})` : ' (none configured)'}.`, {
      actions: ['Add the folder to docs.roots in the configuration, or index it with `twl docs add` on the command line.'],
    });
  }
}

/** The library's name and version before anything is read (a refresh needs them to find what it knew). */
async function identify(kind: Kind, options: AddOptions): Promise<{ name: string; version: string; description?: string }> {
  if (kind === 'npm') {
    const pkg = options.source.slice(4);
    const manifest = JSON.parse(await readFile(path.join(packageDir(pkg), 'package.json'), 'utf8')) as { version?: string; description?: string };
    return { name: options.name ?? pkg, version: options.version ?? manifest.version ?? 'latest', description: manifest.description };
  }
  if (kind === 'web') {
    let host: string;
    try {
      host = new URL(options.source).hostname;
    } catch {
      throw new TwlError('TWL_INPUT_INVALID', `"${options.source}" is not a URL.`, { actions: ['Give a site as https://host/path.'] });
    }
    return { name: options.name ?? host, version: options.version ?? 'latest' };
  }
  if (kind === 'git') {
    const { repo, ref } = parseGitSource(options.source);
    // The ref names the version (a tag such as v2.1.0, a branch); HEAD is "latest".
    return { name: options.name ?? path.basename(repo), version: options.version ?? (ref === 'HEAD' ? 'latest' : ref.replace(/[^\w.+-]/g, '-')) };
  }
  return { name: options.name ?? path.basename(path.resolve(options.source)).replace(/\.[^.]+$/, ''), version: options.version ?? 'latest' };
}

/**
 * Reads a source (folder or file, npm:PACKAGE, or a site) and indexes it as one library version,
 * in one transaction: a failure leaves the version indexed before as it was. Pages unchanged since
 * the last indexing (same hash, or 304 to a conditional request) keep their chunks.
 */
export async function addDocs(ctx: OpContext, options: AddOptions): Promise<AddResult> {
  const kind = kindOf(options.source);
  if ((kind === 'local' || kind === 'git') && ctx.face !== 'cli') checkRoot(ctx, kind === 'git' ? parseGitSource(options.source).repo : path.resolve(options.source));
  const { name, version, description } = await identify(kind, options);
  const libraryId = `/${kind}/${slug(name)}`;
  const store = await ctx.store();
  const known = await knownPages(store, libraryId, version);
  const gatherOptions: GatherOptions = {
    known,
    signal: ctx.signal,
    maxFileBytes: ctx.config.docs.maxFileBytes,
    progress: (message, done, total) => ctx.progress({ message, done, total, status: 'running' }),
  };
  const crawlOptions = {
    depth: options.depth ?? ctx.config.docs.crawl.depth,
    include: options.include ?? [],
    exclude: options.exclude ?? [],
    maxPages: options.maxPages ?? ctx.config.docs.crawl.maxPages,
    rate: ctx.config.docs.crawl.rate,
  };
  let gathered: Omit<Gathered, 'name' | 'kind'>;
  if (kind === 'npm') gathered = await gatherNpm(options.source.slice(4), gatherOptions);
  else if (kind === 'git') gathered = await gatherGit(options.source, gatherOptions);
  else if (kind === 'web') gathered = await crawl(options.source, ctx.config.browser, crawlOptions, gatherOptions);
  else gathered = await gatherFiles(options.source, gatherOptions);
  for (const s of gathered.skipped) ctx.logger.info({ location: s.location, reason: s.reason }, 'skipped');
  ctx.progress({ message: `indexing ${gathered.docs.length} pages of ${libraryId}@${version}`, status: 'running' });
  const git = kind === 'git' ? parseGitSource(options.source) : undefined;
  const source = kind === 'local' ? path.resolve(options.source) : git ? `git:${git.repo}@${git.ref}` : options.source;
  const report = await saveVersion(
    store,
    { id: libraryId, name, description: description ?? null, version, source, options: kind === 'web' ? { depth: crawlOptions.depth, include: crawlOptions.include, exclude: crawlOptions.exclude, maxPages: crawlOptions.maxPages } : {} },
    gathered,
    ctx.signal,
  );
  // Committed first: Ollama failing (or slow) never holds the index or loses the full-text answers.
  const embedded = await embedPending(ctx, store, [report.versionId]);
  await bumpGeneration(ctx);
  ctx.progress({ message: `${libraryId}@${version}: ${report.chunks} chunks from ${report.pages} pages (${report.changed} read, ${report.unchanged} unchanged, ${report.removed} removed)`, status: 'ok' });
  const { versionId: _, ...counts } = report;
  return { ...counts, name, source, skipped: gathered.skipped, requests: gathered.requests, ...(embedded ? { embedded: embedded.embedded } : {}) };
}

/** Indexes a version again from the source and options it was added with. */
export async function refreshDocs(ctx: OpContext, libraryId: string, version: string): Promise<AddResult> {
  const store = await ctx.store();
  const { rows } = await store.query<{ name: string; source: string; options: AddOptions }>('SELECT l.name, v.source, v.options FROM twl_doc_versions v JOIN twl_doc_libraries l ON l.id = v.library_id WHERE v.library_id = $1 AND v.version = $2', [libraryId, version]);
  const row = rows[0];
  if (!row) throw new TwlError('TWL_DOCS_LIBRARY_UNKNOWN', `${libraryId}@${version} is not indexed.`);
  if (row.source.startsWith('twl:')) throw new TwlError('TWL_INPUT_INVALID', `${libraryId} is twl's own knowledge: it is kept current by twl docs knowledge, not refreshed from a source.`);
  return addDocs(ctx, { ...row.options, source: row.source, name: row.name, version });
}
