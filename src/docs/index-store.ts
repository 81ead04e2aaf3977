import type { Queryable, Store } from '../store/types.js';
import { TwlError } from '../runtime/errors.js';
import { chunkMarkdown, type Chunk } from './chunk.js';
import type { Gathered } from './sources/types.js';
import type { Known } from './sources/types.js';

/** Accents folded away, so "résoudre" and "resoudre" index and search alike (French and English text). */
export const fold = (text: string): string => text.normalize('NFD').replace(/\p{M}/gu, '');

/**
 * The weighted tsvector of a chunk: A the page title, B its headings, C prose, D code. Prose is
 * stemmed as English and as French both (a query is too, see searchChunks); code is kept as
 * written besides ('simple'), so identifiers match exactly.
 */
const tsvSql = `setweight(to_tsvector('english', u.ft) || to_tsvector('french', u.ft), 'A')
  || setweight(to_tsvector('english', u.fh) || to_tsvector('french', u.fh), 'B')
  || setweight(to_tsvector('english', u.fx) || to_tsvector('french', u.fx), 'C')
  || setweight(to_tsvector('simple', u.fc) || to_tsvector('english', u.fc), 'D')`;

export interface LibraryMeta {
  id: string;
  name: string;
  description: string | null;
  version: string;
  source: string;
  options: Record<string, unknown>;
}

export interface IndexReport {
  libraryId: string;
  versionId: string;
  version: string;
  pages: number;
  changed: number;
  unchanged: number;
  removed: number;
  chunks: number;
}

/** What a refresh needs to know of the pages indexed before. */
export async function knownPages(q: Queryable, libraryId: string, version: string): Promise<Map<string, Known>> {
  const { rows } = await q.query<{ location: string; hash: string; etag: string | null; last_modified: string | null; links: string[] }>(
    'SELECT p.location, p.hash, p.etag, p.last_modified, p.links FROM twl_doc_pages p JOIN twl_doc_versions v ON v.id = p.version_id WHERE v.library_id = $1 AND v.version = $2',
    [libraryId, version],
  );
  return new Map(rows.map((r) => [r.location, { hash: r.hash, etag: r.etag, lastModified: r.last_modified, links: r.links }]));
}

export interface ChunkRow extends Chunk {
  location: string;
  title: string;
}

/**
 * Writes one library version in a single transaction: pages that changed are replaced, unchanged
 * ones kept, vanished ones removed. Anything failing rolls it all back, so the version indexed
 * before stays searchable as it was; a source with no page at all is refused before writing.
 */
export async function saveVersion(store: Store, meta: LibraryMeta, gathered: Pick<Gathered, 'docs'>, signal?: AbortSignal): Promise<IndexReport> {
  const report = await writeVersion(store, meta, gathered, signal);
  // Fresh statistics after a bulk write: without them the planner (PGlite runs no autovacuum) scans
  // every library's matches instead of using the version index for one library's query.
  if (report.changed || report.removed) await store.query('ANALYZE twl_doc_chunks').catch(() => undefined);
  return report;
}

async function writeVersion(store: Store, meta: LibraryMeta, gathered: Pick<Gathered, 'docs'>, signal?: AbortSignal): Promise<IndexReport> {
  if (!gathered.docs.length) {
    throw new TwlError('TWL_DOCS_SOURCE', `Nothing to index in ${meta.source}: no readable documentation page was found.`, { actions: ['Check the skipped files listed, or point at a folder of Markdown, MDX, HTML, text or reStructuredText.'] });
  }
  return store.transaction(
    async (tx) => {
      // One writer per library version at a time (two syncs of /twl/tickets, two refreshes): the second sees the first's pages.
      await tx.query("SELECT pg_advisory_xact_lock(hashtext('twl-docs:' || $1))", [`${meta.id}@${meta.version}`]);
      await tx.query('INSERT INTO twl_doc_libraries (id, name, description) VALUES ($1, $2, $3) ON CONFLICT (id) DO UPDATE SET name = excluded.name, description = coalesce(excluded.description, twl_doc_libraries.description)', [meta.id, meta.name, meta.description]);
      const { rows } = await tx.query<{ id: string }>(
        `INSERT INTO twl_doc_versions (library_id, version, source, options) VALUES ($1, $2, $3, $4)
         ON CONFLICT (library_id, version) DO UPDATE SET source = excluded.source, options = excluded.options, indexed_at = now() RETURNING id`,
        [meta.id, meta.version, meta.source, JSON.stringify(meta.options)],
      );
      const versionId = rows[0]!.id;
      const existing = new Map((await tx.query<{ id: string; location: string }>('SELECT id, location FROM twl_doc_pages WHERE version_id = $1', [versionId])).rows.map((r) => [r.location, r.id]));
      const seen = new Set<string>();
      let changed = 0;
      const pending: Array<{ doc: Gathered['docs'][number]; chunks: Chunk[] }> = [];
      for (const doc of gathered.docs) {
        if (seen.has(doc.location)) continue;
        seen.add(doc.location);
        if (!doc.page && existing.has(doc.location)) {
          await tx.query('UPDATE twl_doc_pages SET etag = $2, last_modified = $3 WHERE id = $1', [existing.get(doc.location), doc.etag, doc.lastModified]);
          continue;
        }
        if (!doc.page) continue; // unchanged but unknown here: nothing to keep
        changed++;
        pending.push({ doc, chunks: chunkMarkdown(doc.page.markdown) });
      }
      const gone = [...existing].filter(([location]) => !seen.has(location) || pending.some((p) => p.doc.location === location)).map(([, id]) => id);
      if (gone.length) await tx.query('DELETE FROM twl_doc_pages WHERE id = ANY($1::bigint[])', [gone]);
      const removed = [...existing.keys()].filter((l) => !seen.has(l)).length;
      for (let i = 0; i < pending.length; i += 200) {
        signal?.throwIfAborted();
        await insertPages(tx, versionId, pending.slice(i, i + 200));
      }
      const counts = await tx.query<{ pages: number; chunks: number }>(
        'UPDATE twl_doc_versions SET pages = (SELECT count(*) FROM twl_doc_pages WHERE version_id = $1), chunks = (SELECT count(*) FROM twl_doc_chunks WHERE version_id = $1) WHERE id = $1 RETURNING pages, chunks',
        [versionId],
      );
      const { pages, chunks } = counts.rows[0]!;
      if (!chunks) throw new TwlError('TWL_DOCS_SOURCE', `Nothing to index in ${meta.source}: the pages read hold no text.`, { actions: ['Check that the pages have content outside scripts and navigation.'] });
      return { libraryId: meta.id, versionId, version: meta.version, pages: Number(pages), changed, unchanged: seen.size - changed, removed, chunks: Number(chunks) };
    },
    { signal },
  );
}

async function insertPages(tx: Queryable, versionId: string, batch: Array<{ doc: Gathered['docs'][number]; chunks: Chunk[] }>): Promise<void> {
  const { rows } = await tx.query<{ id: string; location: string }>(
    `INSERT INTO twl_doc_pages (version_id, location, url, title, hash, etag, last_modified, links)
     SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::jsonb[]) RETURNING id, location`,
    [
      versionId,
      batch.map((b) => b.doc.location),
      batch.map((b) => b.doc.url),
      batch.map((b) => b.doc.page!.title),
      batch.map((b) => b.doc.hash),
      batch.map((b) => b.doc.etag),
      batch.map((b) => b.doc.lastModified),
      batch.map((b) => JSON.stringify(b.doc.links)),
    ],
  );
  const ids = new Map(rows.map((r) => [r.location, r.id]));
  const chunks = batch.flatMap((b) => b.chunks.map((c, seq) => ({ ...c, seq, pageId: ids.get(b.doc.location)!, title: b.doc.page!.title })));
  await insertChunks(tx, versionId, chunks);
}

/** Chunks in bulk (one statement per 1,000), with their tsvector computed by the database. */
export async function insertChunks(tx: Queryable, versionId: string, chunks: Array<Chunk & { seq: number; pageId: string; title: string }>): Promise<void> {
  for (let i = 0; i < chunks.length; i += 1000) {
    const part = chunks.slice(i, i + 1000);
    await tx.query(
      `INSERT INTO twl_doc_chunks (page_id, version_id, seq, headings, content, languages, tokens, tsv)
       SELECT u.p, $1, u.s, u.h, u.c, u.l, u.k, ${tsvSql}
       FROM unnest($2::bigint[], $3::int[], $4::jsonb[], $5::text[], $6::jsonb[], $7::int[], $8::text[], $9::text[], $10::text[], $11::text[]) AS u(p, s, h, c, l, k, ft, fh, fx, fc)`,
      [
        versionId,
        part.map((c) => c.pageId),
        part.map((c) => c.seq),
        part.map((c) => JSON.stringify(c.headings)),
        part.map((c) => c.content),
        part.map((c) => JSON.stringify(c.languages)),
        part.map((c) => c.tokens),
        part.map((c) => fold(c.title)),
        part.map((c) => fold(c.headings.join(' '))),
        part.map((c) => fold(c.text)),
        part.map((c) => fold(c.code)),
      ],
    );
  }
}
