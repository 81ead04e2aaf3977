import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { TwlError } from '../runtime/errors.js';
import type { Queryable, Store } from '../store/types.js';
import { chunkMarkdown } from './chunk.js';
import { insertChunks } from './index-store.js';
import { findVersion, parseLibraryId } from './search.js';
import { vectorSupport } from './vectors.js';

const iso = (d: unknown) => new Date(d as string).toISOString();

export async function listLibraries(q: Queryable) {
  const { rows } = await q.query<{ id: string; name: string; description: string | null; versions: Array<{ version: string; chunks: number; pages: number; indexedAt: string; source: string }> }>(
    `SELECT l.id, l.name, l.description,
            json_agg(json_build_object('version', v.version, 'chunks', v.chunks, 'pages', v.pages, 'indexedAt', v.indexed_at, 'source', v.source) ORDER BY v.indexed_at DESC) AS versions
     FROM twl_doc_libraries l JOIN twl_doc_versions v ON v.library_id = l.id GROUP BY l.id ORDER BY l.id`,
  );
  return rows.map((r) => ({ ...r, versions: r.versions.map((v) => ({ ...v, id: `${r.id}@${v.version}`, indexedAt: iso(v.indexedAt) })) }));
}

export async function showVersion(q: Queryable, raw: string) {
  const ref = await findVersion(q, raw);
  const head = (
    await q.query<{ name: string; description: string | null; source: string; options: Record<string, unknown>; indexed_at: string; chunks: number }>(
      'SELECT l.name, l.description, v.source, v.options, v.indexed_at, v.chunks FROM twl_doc_versions v JOIN twl_doc_libraries l ON l.id = v.library_id WHERE v.id = $1',
      [ref.versionId],
    )
  ).rows[0]!;
  const pages = await q.query<{ location: string; url: string; title: string; chunks: string; etag: string | null }>(
    'SELECT p.location, p.url, p.title, p.etag, (SELECT count(*) FROM twl_doc_chunks c WHERE c.page_id = p.id) AS chunks FROM twl_doc_pages p WHERE p.version_id = $1 ORDER BY p.location',
    [ref.versionId],
  );
  return {
    libraryId: ref.libraryId,
    name: head.name,
    description: head.description,
    version: ref.version,
    source: head.source,
    options: head.options,
    indexedAt: iso(head.indexed_at),
    chunks: Number(head.chunks),
    pages: pages.rows.map((p) => ({ ...p, chunks: Number(p.chunks) })),
  };
}

/** One version (id@version) or the whole library (id), in one transaction. */
export async function removeLibrary(store: Store, raw: string) {
  const { id, version } = parseLibraryId(raw);
  const ref = version ? await findVersion(store, raw) : undefined;
  return store.transaction(async (tx) => {
    const { rows } = await tx.query<{ version: string; chunks: number }>(
      'DELETE FROM twl_doc_versions WHERE library_id = $1 AND ($2::bigint IS NULL OR id = $2) RETURNING version, chunks',
      [id, ref?.versionId ?? null],
    );
    if (!rows.length) throw new TwlError('TWL_DOCS_LIBRARY_UNKNOWN', `No library ${id} is indexed.`);
    await tx.query('DELETE FROM twl_doc_libraries l WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM twl_doc_versions v WHERE v.library_id = l.id)', [id]);
    return { libraryId: id, versions: rows.map((r) => r.version), chunks: rows.reduce((n, r) => n + Number(r.chunks), 0) };
  });
}

/** One line of an export file (JSON Lines): a library version, then its pages with their chunks. */
export type ExportLine =
  | { kind: 'twl-docs'; format: 1 }
  | { kind: 'version'; libraryId: string; name: string; description: string | null; version: string; source: string; options: Record<string, unknown> }
  | { kind: 'page'; location: string; url: string; title: string; hash: string; etag: string | null; lastModified: string | null; links: string[]; chunks: ExportChunk[] };

/** A chunk as exported; its embedding (docs.embeddings.model) when it has one, so an air-gapped import need not compute them again. */
export interface ExportChunk {
  headings: string[];
  content: string;
  embedding?: { model: string; vector: number[] };
}

/** The whole index (or one library), as JSON Lines, version by version: what `twl docs import` reads back. */
export async function* exportIndex(q: Queryable, library?: string): AsyncGenerator<ExportLine> {
  yield { kind: 'twl-docs', format: 1 };
  const only = library ? parseLibraryId(library).id : null;
  const versions = await q.query<{ id: string; library_id: string; name: string; description: string | null; version: string; source: string; options: Record<string, unknown> }>(
    'SELECT v.id, v.library_id, l.name, l.description, v.version, v.source, v.options FROM twl_doc_versions v JOIN twl_doc_libraries l ON l.id = v.library_id WHERE ($1::text IS NULL OR v.library_id = $1) ORDER BY v.library_id, v.version',
    [only],
  );
  if (only && !versions.rows.length) throw new TwlError('TWL_DOCS_LIBRARY_UNKNOWN', `No library ${only} is indexed.`);
  const vectors = (await q.query<{ t: string | null }>("SELECT to_regclass('twl_doc_embeddings')::text AS t")).rows[0]?.t != null;
  for (const v of versions.rows) {
    yield { kind: 'version', libraryId: v.library_id, name: v.name, description: v.description, version: v.version, source: v.source, options: v.options };
    const pages = await q.query<{ id: string; location: string; url: string; title: string; hash: string; etag: string | null; last_modified: string | null; links: string[] }>(
      'SELECT id, location, url, title, hash, etag, last_modified, links FROM twl_doc_pages WHERE version_id = $1 ORDER BY id',
      [v.id],
    );
    for (const p of pages.rows) {
      const chunks = await q.query<{ headings: string[]; content: string; model: string | null; vector: string | null }>(
        vectors
          ? 'SELECT c.headings, c.content, e.model, e.embedding::text AS vector FROM twl_doc_chunks c LEFT JOIN twl_doc_embeddings e ON e.chunk_id = c.id WHERE c.page_id = $1 ORDER BY c.seq'
          : 'SELECT headings, content, NULL AS model, NULL AS vector FROM twl_doc_chunks WHERE page_id = $1 ORDER BY seq',
        [p.id],
      );
      const exported = chunks.rows.map(({ headings, content, model, vector }): ExportChunk => (model && vector ? { headings, content, embedding: { model, vector: JSON.parse(vector) as number[] } } : { headings, content }));
      yield { kind: 'page', location: p.location, url: p.url, title: p.title, hash: p.hash, etag: p.etag, lastModified: p.last_modified, links: p.links, chunks: exported };
    }
  }
}

/** Whether an export holds embeddings: its first page with chunks tells. */
async function holdsEmbeddings(file: string): Promise<boolean> {
  const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  try {
    for await (const raw of lines) {
      if (!raw.includes('"kind":"page"')) continue;
      const chunks = (JSON.parse(raw) as { chunks?: ExportChunk[] }).chunks ?? [];
      if (chunks.length) return chunks.some((c) => c.embedding);
    }
  } catch {
    // Not JSON: the import below says so.
  } finally {
    lines.close();
  }
  return false;
}

/**
 * Reads an export back, all in one transaction: each version replaces the one of the same id and
 * version; chunks are stored as exported (their search vectors recomputed here), with their
 * embeddings when the file has them and this store can hold vectors (else dropped: counted).
 */
export async function importIndex(store: Store, file: string): Promise<{ versions: string[]; versionIds: string[]; pages: number; chunks: number; embeddings: number; embeddingsDropped: number }> {
  // Made ready before the transaction (it takes its own); only when there are vectors to keep.
  const vectors = (await holdsEmbeddings(file)) && (await vectorSupport(store)).ok;
  const result = await store.transaction(async (tx) => {
    // Opened here, once the transaction has begun: readline drops the lines it reads before anyone iterates.
    const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
    let versionId: string | undefined;
    const versions: string[] = [];
    const versionIds: string[] = [];
    let pages = 0;
    let embeddings = 0;
    let embeddingsDropped = 0;
    let chunks = 0;
    let n = 0;
    for await (const raw of lines) {
      n++;
      if (!raw.trim()) continue;
      let line: ExportLine;
      try {
        line = JSON.parse(raw) as ExportLine;
      } catch {
        throw new TwlError('TWL_IMPORT_INVALID', `Line ${n} is not JSON: this is not a twl docs export.`, { actions: ['Give a file written by `twl docs export`.'] });
      }
      if (n === 1 && line.kind !== 'twl-docs') throw new TwlError('TWL_IMPORT_INVALID', 'The first line is not a twl docs export header.', { actions: ['Give a file written by `twl docs export`.'] });
      if (line.kind === 'version') {
        if (!/^\/[a-z0-9-]+\/.+/i.test(line.libraryId)) throw new TwlError('TWL_IMPORT_INVALID', `Line ${n}: "${line.libraryId}" is not a library id.`);
        await tx.query('INSERT INTO twl_doc_libraries (id, name, description) VALUES ($1, $2, $3) ON CONFLICT (id) DO UPDATE SET name = excluded.name, description = excluded.description', [line.libraryId, line.name, line.description]);
        await tx.query('DELETE FROM twl_doc_versions WHERE library_id = $1 AND version = $2', [line.libraryId, line.version]);
        versionId = (
          await tx.query<{ id: string }>('INSERT INTO twl_doc_versions (library_id, version, source, options) VALUES ($1, $2, $3, $4) RETURNING id', [line.libraryId, line.version, line.source, JSON.stringify(line.options ?? {})])
        ).rows[0]!.id;
        versions.push(`${line.libraryId}@${line.version}`);
        versionIds.push(versionId);
      } else if (line.kind === 'page') {
        if (!versionId) throw new TwlError('TWL_IMPORT_INVALID', `Line ${n}: a page before any library version.`);
        const pageId = (
          await tx.query<{ id: string }>(
            'INSERT INTO twl_doc_pages (version_id, location, url, title, hash, etag, last_modified, links) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id',
            [versionId, line.location, line.url, line.title, line.hash, line.etag, line.lastModified, JSON.stringify(line.links ?? [])],
          )
        ).rows[0]!.id;
        // Prose and code are told apart again from the Markdown, for their weights in the index.
        const rows = line.chunks.map((c, seq) => {
          const parsed = chunkMarkdown(c.content, { maxChars: Number.MAX_SAFE_INTEGER });
          return {
            headings: c.headings,
            content: c.content,
            text: parsed.map((p) => p.text).join('\n'),
            code: parsed.map((p) => p.code).join('\n'),
            languages: [...new Set(parsed.flatMap((p) => p.languages))],
            tokens: Math.ceil(c.content.length / 4),
            seq,
            pageId,
            title: line.title,
          };
        });
        await insertChunks(tx, versionId, rows);
        const embedded = line.chunks.map((c, seq) => ({ seq, embedding: c.embedding })).filter((c) => c.embedding);
        for (const { embedding } of embedded) {
          if (typeof embedding!.model !== 'string' || !Array.isArray(embedding!.vector) || !embedding!.vector.length || !embedding!.vector.every((x) => typeof x === 'number' && Number.isFinite(x))) {
            throw new TwlError('TWL_IMPORT_INVALID', `Line ${n}: a chunk's embedding is not a model name and a list of numbers.`, { actions: ['Give a file written by `twl docs export`, unchanged.'] });
          }
        }
        if (embedded.length && vectors) {
          await tx.query(
            `INSERT INTO twl_doc_embeddings (chunk_id, version_id, model, dims, embedding)
             SELECT c.id, c.version_id, u.m, u.d, u.v::vector FROM unnest($2::int[], $3::text[], $4::int[], $5::text[]) AS u(s, m, d, v) JOIN twl_doc_chunks c ON c.page_id = $1 AND c.seq = u.s`,
            [pageId, embedded.map((c) => c.seq), embedded.map((c) => c.embedding!.model), embedded.map((c) => c.embedding!.vector.length), embedded.map((c) => JSON.stringify(c.embedding!.vector))],
          );
          embeddings += embedded.length;
        } else embeddingsDropped += embedded.length;
        pages++;
        chunks += rows.length;
      }
    }
    if (!versions.length) throw new TwlError('TWL_IMPORT_INVALID', 'The file holds no library version.', { actions: ['Give a file written by `twl docs export`.'] });
    await tx.query(
      'UPDATE twl_doc_versions v SET pages = (SELECT count(*) FROM twl_doc_pages p WHERE p.version_id = v.id), chunks = (SELECT count(*) FROM twl_doc_chunks c WHERE c.version_id = v.id) WHERE v.library_id || \'@\' || v.version = ANY($1::text[])',
      [versions],
    );
    return { versions, versionIds, pages, chunks, embeddings, embeddingsDropped };
  });
  return result;
}
