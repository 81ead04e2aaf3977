import type { OpContext } from '../runtime/context.js';
import { TwlError, messageOf } from '../runtime/errors.js';
import { Llm } from '../runtime/llm.js';
import { migrations } from '../store/migrate.js';
import type { Queryable, Store } from '../store/types.js';
import { hitColumns, hitTables, searchChunks, toHit, type Hit } from './search.js';

/*
 * Vector search over the documentation index (docs.embeddings.model): chunks get an embedding
 * from Ollama's /api/embed when indexed, a question gets one when asked, and the nearest chunks
 * by cosine distance are fused with the full-text ranking by reciprocal rank.
 *
 * The vectors live in twl_doc_embeddings (migration 0018), made where the `vector` extension can
 * be had: always on the embedded store (its engine loads PGlite's pgvector build), on PostgreSQL
 * when pgvector is installed on the server (detected in pg_available_extensions; made at run time
 * when it was installed after the migration ran). Without it,
 * twl answers with full-text search and says why, once per process. Each row records the model
 * and its dimensions: a question is only compared with chunks embedded by the model configured
 * now, and changing the model re-embeds a library at its next `twl docs refresh` (or add).
 */

type Support = { ok: true } | { ok: false; reason: string };

/** What embedding needs of an op's context (the import command has no op context). */
export type EmbedContext = Pick<OpContext, 'config' | 'warn' | 'progress'> & { signal?: AbortSignal };

let supportOf = new WeakMap<Queryable, Promise<Support>>();
let said = new Set<string>();

/** For tests: detect again, and say again what was said. */
export const forgetVectorState = () => {
  supportOf = new WeakMap();
  said = new Set();
};

/** A warning said once per process (a server would otherwise say it on every question). */
function sayOnce(ctx: Pick<OpContext, 'warn'>, key: string, message: string): void {
  if (said.has(key)) return;
  said.add(key);
  ctx.warn(message);
}

/** Whether this store can hold vectors: the extension there (or installable) and the table made. */
export function vectorSupport(store: Store): Promise<Support> {
  let known = supportOf.get(store);
  if (!known) {
    known = detect(store);
    supportOf.set(store, known);
    known.catch(() => supportOf.delete(store));
  }
  return known;
}

async function detect(store: Store): Promise<Support> {
  const { rows } = await store.query<{ installed: boolean; available: boolean }>(
    "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'vector') AS installed, EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'vector') AS available",
  );
  const { installed, available } = rows[0]!;
  if (!installed && !available) {
    return {
      ok: false,
      reason: store.backend === 'postgres' ? 'this PostgreSQL server has no pgvector ("vector" is not in pg_available_extensions; install pgvector there for vector search)' : 'this embedded store was opened without its vector extension',
    };
  }
  const table = async () => (await store.query<{ ok: boolean }>("SELECT to_regclass('twl_doc_embeddings') IS NOT NULL AS ok")).rows[0]?.ok === true;
  if (installed && (await table())) return { ok: true };
  // pgvector installed after the migration ran (PostgreSQL): the migration's script again, its
  // CREATE EXTENSION first on its own, so that a refusal says why.
  try {
    const script = migrations().find((m) => m.name === 'docs_vectors')!.sql;
    await store.transaction(async (tx) => {
      await tx.query("SELECT pg_advisory_xact_lock(hashtext('twl-docs-vectors'))");
      await tx.query('CREATE EXTENSION IF NOT EXISTS vector');
      await tx.exec(script);
    });
  } catch (err) {
    return { ok: false, reason: `the vector extension could not be set up (${messageOf(err)})` };
  }
  if (!(await table())) return { ok: false, reason: 'the vector extension is there but twl_doc_embeddings could not be made (see the server log)' };
  return { ok: true };
}

/** pgvector's text form of a vector. */
const literal = (v: number[]) => `[${v.join(',')}]`;

/** What a chunk is embedded as: where it sits (page, headings), then its text. */
const embeddingText = (r: { title: string; headings: string[]; content: string }) => `${r.title}\n${r.headings.join(' > ')}\n\n${r.content}`.slice(0, 8000);

/** The Ollama model that embeds (llm.host), when vectors can be used at all; why not said once otherwise. */
async function embedder(ctx: EmbedContext, store: Store, model: string, doing: string): Promise<Llm | undefined> {
  const support = await vectorSupport(store);
  if (!support.ok) {
    sayOnce(ctx, `support:${model}`, `docs.embeddings.model is "${model}", but ${support.reason}: ${doing} with full-text search only.`);
    return undefined;
  }
  if (!ctx.config.llm.host) {
    sayOnce(ctx, `host:${model}`, `docs.embeddings.model is "${model}", but llm.host is not set (embeddings come from Ollama): ${doing} with full-text search only.`);
    return undefined;
  }
  return new Llm(ctx.config.llm.host, model, ctx.config.llm.timeout);
}

export interface EmbedReport {
  model: string;
  /** Chunks embedded now. */
  embedded: number;
  /** Chunks of these versions still without an embedding from the model (Ollama failed on the way). */
  pending: number;
}

/**
 * Embeds the chunks of these library versions that have no embedding from the configured model
 * (new chunks, or all of them after the model changed), in batches of docs.embeddings.batch.
 * Runs after the chunks are committed: Ollama failing leaves them searchable by full-text, said
 * in a warning, and a later refresh embeds what is missing. Nothing to do without a model.
 */
export async function embedPending(ctx: EmbedContext, store: Store, versionIds: string[]): Promise<EmbedReport | undefined> {
  const model = ctx.config.docs.embeddings.model;
  if (!model || !versionIds.length) return undefined;
  const llm = await embedder(ctx, store, model, 'indexing');
  if (!llm) return undefined;
  const batch = ctx.config.docs.embeddings.batch;
  const missing = `FROM ${hitTables} WHERE c.version_id = ANY($1::bigint[]) AND NOT EXISTS (SELECT 1 FROM twl_doc_embeddings e WHERE e.chunk_id = c.id AND e.model = $2)`;
  const total = Number((await store.query<{ n: string }>(`SELECT count(*) AS n ${missing}`, [versionIds, model])).rows[0]!.n);
  let embedded = 0;
  try {
    while (embedded < total) {
      ctx.signal?.throwIfAborted();
      const { rows } = await store.query<{ id: string; title: string; headings: string[]; content: string }>(`SELECT c.id, p.title, c.headings, c.content ${missing} ORDER BY c.id LIMIT $3`, [versionIds, model, batch]);
      if (!rows.length) break;
      const vectors = await llm.embed(rows.map(embeddingText), { signal: ctx.signal });
      const dims = vectors[0]!.length;
      if (!dims || vectors.some((v) => v.length !== dims || v.some((x) => !Number.isFinite(x)))) {
        throw new TwlError('TWL_LLM_UNAVAILABLE', `Ollama's model ${model} answered embeddings of uneven or invalid sizes.`);
      }
      await store.query(
        `INSERT INTO twl_doc_embeddings (chunk_id, version_id, model, dims, embedding)
         SELECT c.id, c.version_id, $3, $4, u.v::vector FROM unnest($1::bigint[], $2::text[]) AS u(id, v) JOIN twl_doc_chunks c ON c.id = u.id
         ON CONFLICT (chunk_id) DO UPDATE SET version_id = excluded.version_id, model = excluded.model, dims = excluded.dims, embedding = excluded.embedding`,
        [rows.map((r) => r.id), vectors.map(literal), model, dims],
      );
      embedded += rows.length;
      ctx.progress({ message: `embedding with ${model}`, done: embedded, total, status: 'running' });
    }
    // Fresh statistics after a bulk write (PGlite runs no autovacuum), as for the chunks.
    if (embedded) await store.query('ANALYZE twl_doc_embeddings');
  } catch (err) {
    if (ctx.signal?.aborted) throw err;
    ctx.warn(`Embedding with ${model} stopped after ${embedded} of ${total} chunks: ${messageOf(err)}. Full-text search finds them meanwhile; \`twl docs refresh LIBRARY\` embeds the rest.`);
  }
  return { model, embedded, pending: total - embedded };
}

/** Reciprocal-rank fusion's constant (Cormack et al.: 60); a rank r in one list adds 1/(K + r). */
const K = 60;

export interface DocsSearch {
  hits: Hit[];
  /** hybrid: full-text and vector rankings fused; full-text: vectors unavailable or not configured. */
  mode: 'full-text' | 'hybrid';
}

/**
 * The search every face uses: full-text alone, or, with docs.embeddings.model and vectors at
 * hand, full-text and nearest-vector rankings fused by reciprocal rank (a chunk found by both
 * ranks first; one found by meaning alone still ranks). Anything missing for vectors (the
 * extension, llm.host, Ollama, embeddings of these libraries) falls back to full-text, said once.
 */
export async function searchDocs(ctx: OpContext, store: Store, query: string, options: { versionIds?: string[]; limit: number }): Promise<DocsSearch> {
  const model = ctx.config.docs.embeddings.model;
  const near = model ? await nearest(ctx, store, model, query, { versionIds: options.versionIds, limit: Math.max(options.limit * 2, 40) }) : undefined;
  if (!near) return { hits: await searchChunks(store, query, options), mode: 'full-text' };
  const text = await searchChunks(store, query, { versionIds: options.versionIds, limit: Math.max(options.limit * 2, 40) });
  const fused = new Map<string, Hit>();
  for (const list of [text, near]) {
    list.forEach((hit, rank) => {
      const seen = fused.get(hit.chunkId);
      fused.set(hit.chunkId, { ...(seen ?? hit), score: (seen?.score ?? 0) + 1 / (K + rank + 1) });
    });
  }
  const hits = [...fused.values()]
    .sort((a, b) => b.score - a.score || Number(a.chunkId) - Number(b.chunkId))
    .slice(0, options.limit)
    .map((h) => ({ ...h, score: Math.round(h.score * 1_000_000) / 1_000_000 }));
  return { hits, mode: 'hybrid' };
}

/**
 * The chunks nearest to the question by cosine distance, among those embedded by the model; or
 * undefined (said once) when vectors cannot answer. Over every library the HNSW index of the
 * vectors' size answers; within given versions an exact scan of their vectors does (an index
 * would filter after its nearest 40 and could miss a small library's chunks).
 */
async function nearest(ctx: OpContext, store: Store, model: string, query: string, options: { versionIds?: string[]; limit: number }): Promise<Hit[] | undefined> {
  const llm = await embedder(ctx, store, model, 'answering');
  if (!llm) return undefined;
  const scope = options.versionIds ?? null;
  const sizes = await store.query<{ dims: number }>('SELECT DISTINCT dims FROM twl_doc_embeddings WHERE model = $1 AND ($2::bigint[] IS NULL OR version_id = ANY($2::bigint[]))', [model, scope]);
  if (!sizes.rows.length) {
    sayOnce(ctx, `none:${model}:${scope?.join(',') ?? '*'}`, `docs.embeddings.model is "${model}", but no chunk searched has an embedding from it yet (\`twl docs refresh LIBRARY\` computes them): answering with full-text search only.`);
    return undefined;
  }
  let vector: number[];
  try {
    [vector] = (await llm.embed([query], { signal: ctx.signal })) as [number[]];
  } catch (err) {
    if (ctx.signal?.aborted) throw err;
    sayOnce(ctx, `query:${messageOf(err)}`, `docs.embeddings.model is "${model}", but the question could not be embedded (${messageOf(err)}): answering with full-text search only.`);
    return undefined;
  }
  const dims = vector.length;
  // Over everything, ordered by the indexed expression alone (a second sort key would keep the index from ordering).
  const cast = scope ? '' : `::vector(${dims})`;
  // The nearest first, from the vectors alone (materialised: joined in, the planner would sort
  // every match instead of reading the index in order), then what the hits show.
  const { rows } = await store.query<Hit>(
    `WITH near AS MATERIALIZED (
       SELECT e.chunk_id, e.embedding${cast} <=> $1::vector${cast} AS distance FROM twl_doc_embeddings e
       WHERE e.model = $2 AND e.dims = ${dims} AND ($3::bigint[] IS NULL OR e.version_id = ANY($3::bigint[]))
       ORDER BY e.embedding${cast} <=> $1::vector${cast}${scope ? ', e.chunk_id' : ''}
       LIMIT $4)
     SELECT ${hitColumns}, 1 - near.distance AS score FROM near JOIN (${hitTables}) ON c.id = near.chunk_id
     ORDER BY near.distance, c.id`,
    [literal(vector), model, scope, options.limit],
  );
  return rows.map(toHit);
}
