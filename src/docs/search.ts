import { distance } from 'fastest-levenshtein';
import { TwlError } from '../runtime/errors.js';
import type { Queryable } from '../store/types.js';
import { fold } from './index-store.js';

/** `/npm/zod@4.1` → library `/npm/zod`, version `4.1` (a scoped `/npm/@s/p@1` keeps its leading @). */
export function parseLibraryId(raw: string): { id: string; version?: string } {
  const m = /^\/([a-z0-9-]+)\/(.+)$/i.exec(raw.trim());
  if (!m) {
    throw new TwlError('TWL_DOCS_LIBRARY_UNKNOWN', `"${raw}" is not a library id: expected /KIND/NAME or /KIND/NAME@VERSION (e.g. /npm/zod or /npm/zod@4.1).`, {
      actions: ['Find the id with resolve-library-id (twl docs resolve NAME) or twl docs list.'],
    });
  }
  const name = m[2]!;
  const at = name.lastIndexOf('@');
  if (at > 0) return { id: `/${m[1]}/${name.slice(0, at)}`, version: name.slice(at + 1) || undefined };
  return { id: `/${m[1]}/${name}` };
}

export interface VersionRef {
  libraryId: string;
  version: string;
  versionId: string;
}

/**
 * The indexed version a library id points at: the exact version, else the newest indexed one
 * whose version starts with it (`@4` → 4.1.12), else, without a version, the newest indexed.
 */
export async function findVersion(q: Queryable, raw: string): Promise<VersionRef> {
  const { id, version } = parseLibraryId(raw);
  const { rows } = await q.query<{ id: string; version: string }>(
    `SELECT id, version FROM twl_doc_versions WHERE library_id = $1 AND ($2::text IS NULL OR version = $2 OR version LIKE $2 || '.%' OR version LIKE $2 || '-%')
     ORDER BY (version = $2) DESC NULLS LAST, indexed_at DESC LIMIT 1`,
    [id, version ?? null],
  );
  if (rows[0]) return { libraryId: id, version: rows[0].version, versionId: rows[0].id };
  const libraries = (await q.query<{ id: string; versions: string[] }>('SELECT l.id, array_agg(v.version ORDER BY v.indexed_at DESC) AS versions FROM twl_doc_libraries l JOIN twl_doc_versions v ON v.library_id = l.id GROUP BY l.id')).rows;
  const same = libraries.find((l) => l.id === id);
  if (same) throw new TwlError('TWL_DOCS_LIBRARY_UNKNOWN', `${id} has no version ${version} indexed (indexed: ${same.versions.join(', ')}).`, { actions: [`Use one of them (${id}@${same.versions[0]}), or index it: twl docs add SOURCE --version ${version}.`] });
  const near = libraries.map((l) => l.id).sort((a, b) => distance(a, id) - distance(b, id)).slice(0, 3);
  throw new TwlError('TWL_DOCS_LIBRARY_UNKNOWN', `No library ${id} is indexed.${near.length ? ` Closest: ${near.join(', ')}.` : ' The index is empty.'}`, {
    actions: ['Find the id with resolve-library-id (twl docs resolve NAME), or index the library first (twl docs add SOURCE).'],
  });
}

/** Words of a query, folded; each becomes English and French lexemes in SQL. */
const queryWords = (query: string): string[] => [...new Set(fold(query).toLowerCase().match(/[\p{L}\p{N}_]+(?:[.'-][\p{L}\p{N}_]+)*/gu) ?? [])].slice(0, 64);

export interface Hit {
  chunkId: string;
  libraryId: string;
  version: string;
  title: string;
  headings: string[];
  content: string;
  languages: string[];
  tokens: number;
  url: string;
  location: string;
  score: number;
}

/**
 * Full-text search over chunks: any word of the query may match (OR), stemmed as English and as
 * French, a word that either language counts as a stop word dropped; ranked by ts_rank,
 * normalised by chunk length, with the weights {D code 0.1, C prose 0.2, B headings 1.0, A page
 * title 0.5}: the section's own headings tell chunks of one page apart, the page title does not
 * (chosen on bench/fixtures/docs-queries.json: recall@5 0.78 → 0.81 against title-first weights).
 */
export async function searchChunks(q: Queryable, query: string, options: { versionIds?: string[]; limit: number }): Promise<Hit[]> {
  const words = queryWords(query);
  if (!words.length) return [];
  const { rows } = await q.query<Hit>(
    `WITH w AS (
       SELECT tsvector_to_array(to_tsvector('english', word)) AS en, tsvector_to_array(to_tsvector('french', word)) AS fr FROM unnest($1::text[]) AS word
     ), q AS (
       SELECT to_tsquery('simple', coalesce(string_agg(DISTINCT quote_literal(lexeme), ' | '), '')) AS query
       FROM w, unnest(w.en || w.fr) AS lexeme WHERE cardinality(w.en) > 0 AND cardinality(w.fr) > 0
     )
     SELECT ${hitColumns}, ts_rank('{0.1, 0.2, 1.0, 0.5}', c.tsv, q.query, 1) AS score
     FROM q, ${hitTables}
     WHERE c.tsv @@ q.query AND ($2::bigint[] IS NULL OR c.version_id = ANY($2::bigint[]))
     ORDER BY score DESC, c.id
     LIMIT $3`,
    [words, options.versionIds ?? null, options.limit],
  );
  return rows.map(toHit);
}

/** What a hit is made of, for the SQL of full-text and vector search alike (chunk c, page p, version v). */
export const hitColumns = 'c.id AS "chunkId", v.library_id AS "libraryId", v.version, p.title, c.headings, c.content, c.languages, c.tokens, p.url, p.location';
export const hitTables = 'twl_doc_chunks c JOIN twl_doc_pages p ON p.id = c.page_id JOIN twl_doc_versions v ON v.id = c.version_id';

/** int8 ids and real scores come back as strings or floats alike on both backends: normalised here. */
export const toHit = (r: Hit): Hit => ({ ...r, chunkId: String(r.chunkId), tokens: Number(r.tokens), score: Math.round(Number(r.score) * 10_000) / 10_000 });

/** The best hits that fit a token budget (the first always, even when larger). */
export function withinBudget(hits: Hit[], tokens: number): { hits: Hit[]; tokens: number; truncated: boolean } {
  const kept: Hit[] = [];
  let used = 0;
  for (const hit of hits) {
    if (kept.length && used + hit.tokens > tokens) return { hits: kept, tokens: used, truncated: true };
    kept.push(hit);
    used += hit.tokens;
  }
  return { hits: kept, tokens: used, truncated: false };
}

export interface LibraryMatch {
  id: string;
  name: string;
  description: string | null;
  versions: Array<{ version: string; id: string; chunks: number; pages: number; indexedAt: string }>;
  snippets: number;
  score: number;
}

let trigramsChecked: WeakMap<Queryable, boolean> = new WeakMap();
/** For tests that add or drop the extension. */
export const forgetTrigrams = () => (trigramsChecked = new WeakMap());

/** Whether pg_trgm is installed in this store (PostgreSQL with contrib; not on the embedded store). */
export async function hasTrigrams(q: Queryable): Promise<boolean> {
  let known = trigramsChecked.get(q);
  if (known === undefined) {
    known = (await q.query<{ ok: boolean }>("SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') AS ok")).rows[0]?.ok === true;
    trigramsChecked.set(q, known);
  }
  return known;
}

/** Similarity by edit distance, 0–1, for stores without pg_trgm. */
const editSimilarity = (a: string, b: string) => 1 - distance(a, b) / Math.max(a.length, b.length, 1);

/**
 * Libraries whose name (or id) matches, typo-tolerant: trigram similarity with pg_trgm, edit
 * distance without; an exact name first, then names containing the words asked.
 */
export async function matchLibraries(q: Queryable, libraryName: string, options: { limit: number; minScore?: number }): Promise<{ matches: LibraryMatch[]; method: 'trigram' | 'edit-distance' }> {
  const trigram = await hasTrigrams(q);
  const wanted = fold(libraryName).toLowerCase().trim();
  const { rows } = await q.query<{ id: string; name: string; description: string | null; versions: LibraryMatch['versions']; similarity: number | null }>(
    `SELECT l.id, l.name, l.description,
            json_agg(json_build_object('version', v.version, 'id', l.id || '@' || v.version, 'chunks', v.chunks, 'pages', v.pages, 'indexedAt', v.indexed_at) ORDER BY v.indexed_at DESC) AS versions,
            ${trigram ? 'greatest(similarity(lower(l.name), $1), similarity(lower(l.id), $1))' : 'NULL::real'} AS similarity
     FROM twl_doc_libraries l JOIN twl_doc_versions v ON v.library_id = l.id GROUP BY l.id`,
    trigram ? [wanted] : [],
  );
  const scored = rows.map((r) => {
    const name = fold(r.name).toLowerCase();
    const base = name.split('/').pop()!;
    let score = r.similarity !== null ? Number(r.similarity) : Math.max(editSimilarity(name, wanted), editSimilarity(base, wanted));
    if (name === wanted || base === wanted || r.id.toLowerCase() === wanted) score = 1;
    else if (wanted.length >= 3 && (name.includes(wanted) || wanted.includes(base))) score = Math.max(score, 0.8);
    const versions = r.versions.map((v) => ({ ...v, indexedAt: new Date(v.indexedAt).toISOString() }));
    return { id: r.id, name: r.name, description: r.description, versions, snippets: versions.reduce((n, v) => n + Number(v.chunks), 0), score: Math.round(score * 1000) / 1000 };
  });
  const matches = scored
    .filter((m) => m.score >= (options.minScore ?? 0.3))
    .sort((a, b) => b.score - a.score || b.snippets - a.snippets)
    .slice(0, options.limit);
  return { matches, method: trigram ? 'trigram' : 'edit-distance' };
}
