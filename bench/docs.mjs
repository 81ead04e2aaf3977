// `npm run bench -- docs`: the documentation index, on the embedded store and on PostgreSQL.
// 1. Ingestion, full-text only: chunks/s of saveVersion (chunking, tsvectors computed by the
//    database, one transaction per version) against a baseline measured in the same run: the
//    same rows bulk-inserted into a plain table without search vectors (the write floor).
// 2. query-docs latency (p50/p99) with ≥ 50,000 chunks in the store, in process (no MCP
//    transport), against a primary-key lookup on the same table; and docs search across
//    every library (no library filter).
// 3. Retrieval quality on the labelled questions of bench/fixtures/docs-queries.json
//    (written apart from the ranking code): recall@5 and MRR@10, full-text only.
// 4. Embeddings (embedded store; this machine's PostgreSQL has no pgvector): what embedding the
//    labelled libraries' chunks costs per chunk with the Ollama test server (test/fixtures/
//    ollama-server.ts answering 768-dimension vectors: the HTTP round trips, the vectors
//    written, the HNSW index kept), against their full-text ingest per chunk in the same run;
//    and hybrid query-docs / cross-library latency against full-text. Retrieval quality with
//    embeddings needs a real embedding model (the test server's vectors carry no meaning): not
//    reported here.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const TARGET_CHUNKS = Number(process.env.TWL_BENCH_DOCS_CHUNKS ?? 50_000);
const QUERY_ROUNDS = Number(process.env.TWL_BENCH_DOCS_ROUNDS ?? 5);

const pct = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? 0;
};
const plain = (heading) => heading.replace(/[*_`]/g, '').trim();

export async function docsBench({ root, json }) {
  const dist = (p) => import(path.join(root, 'dist', p));
  const [{ validateConfig }, { createLogger }, { openStore }, { saveVersion }, { searchChunks, findVersion, withinBudget }, { gatherNpm }, { gatherFiles }, { embedPending, searchDocs }, { FakeOllama }] = await Promise.all([
    dist('src/runtime/config.js'),
    dist('src/runtime/logger.js'),
    dist('src/store/open.js'),
    dist('src/docs/index-store.js'),
    dist('src/docs/search.js'),
    dist('src/docs/sources/npm.js'),
    dist('src/docs/sources/local.js'),
    dist('src/docs/vectors.js'),
    // The Ollama test server, loaded from its TypeScript source (Node strips the types).
    import(path.join(root, 'test/fixtures/ollama-server.ts')),
  ]);
  const fixture = JSON.parse(readFileSync(path.join(root, 'bench/fixtures/docs-queries.json'), 'utf8'));
  const logger = createLogger('silent');
  const gatherOptions = { known: new Map(), signal: new AbortController().signal, maxFileBytes: 4 * 1024 * 1024, progress: () => undefined };

  // The corpus: the labelled packages, then every top-level README in node_modules, read once.
  const corpus = [];
  for (const lib of fixture.libraries) {
    const g = await gatherNpm(lib.slice(4), gatherOptions, root);
    corpus.push({ id: `/npm/${lib.slice(4)}`, name: lib.slice(4), version: g.version ?? 'latest', docs: g.docs });
  }
  const modules = path.join(root, 'node_modules');
  const readmes = [];
  for (const name of readdirSync(modules)) {
    const dirs = name.startsWith('@') ? readdirSync(path.join(modules, name)).map((n) => `${name}/${n}`) : [name];
    for (const dir of dirs) {
      for (const f of ['README.md', 'readme.md', 'Readme.md']) if (existsSync(path.join(modules, dir, f))) readmes.push(path.join(modules, dir, f));
    }
  }
  const filler = [];
  for (const file of readmes) {
    const g = await gatherFiles(file, gatherOptions);
    filler.push(...g.docs.map((d) => ({ ...d, location: path.relative(modules, file) })));
  }

  const results = { backends: {}, quality: null };
  const backends = [{ name: 'embedded', config: {} }];
  let pgDb;
  try {
    pgDb = `twl_bench_docs_${process.pid}`;
    execFileSync('psql', ['-h', '127.0.0.1', '-U', 'postgres', '-d', 'postgres', '-qc', `CREATE DATABASE ${pgDb}`], { stdio: 'ignore' });
    backends.push({ name: 'postgres', config: { database: { url: `postgres://postgres@127.0.0.1:5432/${pgDb}` } } });
  } catch {
    pgDb = undefined;
    console.error('PostgreSQL is not reachable with psql on 127.0.0.1: the postgres rows are left out.');
  }

  /** Hashed words to 768 dimensions: vectors of a real model's size, computed fast (no meaning beyond shared words). */
  const hashedEmbedding = (text) => {
    const v = new Array(768).fill(0);
    for (const w of text.toLowerCase().match(/[a-z0-9]+/g) ?? []) {
      let h = 2166136261;
      for (let i = 0; i < w.length; i++) h = Math.imul(h ^ w.charCodeAt(i), 16777619);
      v[(h >>> 0) % 768] += 1;
    }
    const norm = Math.hypot(...v) || 1;
    return v.map((x, i) => (x || (i === 0 ? 1 : 0)) / norm);
  };

  async function embeddingsBench({ store, home, refs, labelled, fixture }) {
    const ollama = await new FakeOllama().start();
    ollama.onEmbed(hashedEmbedding);
    try {
      const config = validateConfig({ home, llm: { host: ollama.url }, docs: { embeddings: { model: 'bench-embed', batch: 32 } } }, undefined, {}).config;
      const warnings = [];
      const ctx = { config, warn: (m) => warnings.push(m), progress: () => undefined };
      const versionIds = [...refs.values()].map((r) => r.versionId);
      const started = performance.now();
      const report = await embedPending(ctx, store, versionIds);
      const embedMs = performance.now() - started;
      if (!report || report.pending || warnings.length) throw new Error(`embedding failed: ${JSON.stringify({ report, warnings })}`);
      const hybridQuery = [];
      const textQuery = [];
      const hybridAll = [];
      for (let round = 0; round < QUERY_ROUNDS; round++) {
        for (const item of fixture.queries) {
          const ref = refs.get(item.library);
          let t = performance.now();
          withinBudget((await searchDocs(ctx, store, item.q, { versionIds: [ref.versionId], limit: 50 })).hits, 5000);
          hybridQuery.push(performance.now() - t);
          t = performance.now();
          withinBudget(await searchChunks(store, item.q, { versionIds: [ref.versionId], limit: 50 }), 5000);
          textQuery.push(performance.now() - t);
          t = performance.now();
          await searchDocs(ctx, store, item.q, { limit: 10 });
          hybridAll.push(performance.now() - t);
        }
      }
      const lat = (xs) => ({ p50: pct(xs, 0.5), p99: pct(xs, 0.99) });
      return {
        chunks: report.embedded,
        dims: 768,
        msPerChunk: embedMs / report.embedded,
        fullTextIngestMsPerChunk: labelled.ms / labelled.chunks,
        requests: ollama.embeds().length - fixture.queries.length * QUERY_ROUNDS * 2,
        queryDocsHybrid: lat(hybridQuery),
        queryDocsFullText: lat(textQuery),
        searchAllHybrid: lat(hybridAll),
      };
    } finally {
      await ollama.stop();
    }
  }

  for (const backend of backends) {
    const home = mkdtempSync(path.join(os.tmpdir(), 'twl-bench-docs-'));
    const store = await openStore(validateConfig({ ...backend.config, home }, undefined, {}), logger, { role: 'bench' });
    try {
      // 1. Ingestion: the labelled libraries, then README versions until the target is reached.
      let chunks = 0;
      let ms = 0;
      const labelled = { chunks: 0, ms: 0 };
      let baselineMs = 0;
      await store.query('CREATE TABLE bench_plain (content text, headings jsonb)');
      const ingest = async (meta, docs) => {
        const started = performance.now();
        const r = await saveVersion(store, { ...meta, description: null, source: meta.id, options: {} }, { docs });
        ms += performance.now() - started;
        chunks += r.chunks;
        // The floor: the same chunk contents, bulk-inserted without search vectors.
        const rows = (await store.query('SELECT c.content, c.headings FROM twl_doc_chunks c JOIN twl_doc_versions v ON v.id = c.version_id WHERE v.library_id = $1 AND v.version = $2', [meta.id, meta.version])).rows;
        const base = performance.now();
        await store.transaction(async (tx) => {
          for (let i = 0; i < rows.length; i += 1000) {
            const part = rows.slice(i, i + 1000);
            await tx.query('INSERT INTO bench_plain SELECT * FROM unnest($1::text[], $2::jsonb[])', [part.map((r) => r.content), part.map((r) => JSON.stringify(r.headings))]);
          }
        });
        baselineMs += performance.now() - base;
      };
      for (const lib of corpus) {
        const [before, started] = [chunks, ms];
        await ingest({ id: lib.id, name: lib.name, version: lib.version }, lib.docs);
        labelled.chunks += chunks - before;
        labelled.ms += ms - started;
      }
      for (let v = 1; chunks < TARGET_CHUNKS; v++) await ingest({ id: '/local/node-modules-readmes', name: 'node_modules READMEs', version: `r${v}` }, filler);
      const ingestion = { chunks, seconds: ms / 1000, chunksPerSecond: chunks / (ms / 1000), baselineChunksPerSecond: chunks / (baselineMs / 1000) };
      ingestion.ratioToBaseline = ingestion.baselineChunksPerSecond / ingestion.chunksPerSecond;

      // 2. Latency: query-docs's path (version lookup, search, token budget) and a cross-library search.
      const refs = new Map();
      for (const lib of corpus) refs.set(`npm:${lib.name}`, await findVersion(store, lib.id));
      const ids = (await store.query('SELECT id FROM twl_doc_chunks ORDER BY random() LIMIT 200')).rows.map((r) => r.id);
      const queryMs = [];
      const searchMs = [];
      const lookupMs = [];
      for (let round = 0; round < QUERY_ROUNDS; round++) {
        for (const [i, item] of fixture.queries.entries()) {
          let t = performance.now();
          const ref = await findVersion(store, refs.get(item.library).libraryId + '@' + refs.get(item.library).version);
          withinBudget(await searchChunks(store, item.q, { versionIds: [ref.versionId], limit: 50 }), 5000);
          queryMs.push(performance.now() - t);
          t = performance.now();
          await searchChunks(store, item.q, { limit: 10 });
          searchMs.push(performance.now() - t);
          t = performance.now();
          await store.query('SELECT id, content FROM twl_doc_chunks WHERE id = $1', [ids[i % ids.length]]);
          lookupMs.push(performance.now() - t);
        }
      }
      const lat = (xs) => ({ p50: pct(xs, 0.5), p99: pct(xs, 0.99) });
      const latency = { calls: queryMs.length, queryDocs: lat(queryMs), searchAll: lat(searchMs), baselineLookup: lat(lookupMs) };

      // 3. Quality (once, on the embedded store: the ranking SQL is the same on both).
      if (!results.quality) {
        let found = 0;
        let reciprocal = 0;
        const misses = [];
        for (const item of fixture.queries) {
          const hits = await searchChunks(store, item.q, { versionIds: [refs.get(item.library).versionId], limit: 10 });
          const rank = hits.findIndex((h) => h.location === item.page && h.headings.map(plain).includes(plain(item.heading))) + 1;
          if (rank >= 1 && rank <= 5) found++;
          if (rank >= 1) reciprocal += 1 / rank;
          if (rank === 0) misses.push(item.q);
          else if (rank > 5) misses.push(`${item.q} (rank ${rank})`);
        }
        results.quality = { questions: fixture.queries.length, recallAt5: found / fixture.queries.length, mrrAt10: reciprocal / fixture.queries.length, misses };
      }
      results.backends[backend.name] = { ingestion, latency };

      // 4. Embeddings, where the store has the vector extension.
      const vector = (await store.query("SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'vector') AS ok")).rows[0].ok;
      if (vector) results.backends[backend.name].embeddings = await embeddingsBench({ store, home, refs, labelled, fixture });
      else results.backends[backend.name].embeddings = { skipped: 'no vector extension on this store' };
    } finally {
      await store.close();
      rmSync(home, { recursive: true, force: true });
    }
  }
  if (pgDb) execFileSync('psql', ['-h', '127.0.0.1', '-U', 'postgres', '-d', 'postgres', '-qc', `DROP DATABASE IF EXISTS ${pgDb}`], { stdio: 'ignore' });

  if (json) return results;
  console.log(`\ndocs — full-text only; bench on node ${process.version}, ${os.cpus().length} cores`);
  for (const [name, r] of Object.entries(results.backends)) {
    const i = r.ingestion;
    console.log(`${name}: ingest ${i.chunks} chunks in ${i.seconds.toFixed(1)} s = ${i.chunksPerSecond.toFixed(0)} chunks/s (plain bulk insert of the same rows: ${i.baselineChunksPerSecond.toFixed(0)} chunks/s, ${i.ratioToBaseline.toFixed(2)}× faster)`);
    const l = r.latency;
    console.log(`${name}: query-docs p50 ${l.queryDocs.p50.toFixed(1)} ms, p99 ${l.queryDocs.p99.toFixed(1)} ms; search across all libraries p50 ${l.searchAll.p50.toFixed(1)} ms, p99 ${l.searchAll.p99.toFixed(1)} ms; baseline primary-key lookup p50 ${l.baselineLookup.p50.toFixed(2)} ms, p99 ${l.baselineLookup.p99.toFixed(2)} ms (${l.calls} calls each)`);
  }
  for (const [name, r] of Object.entries(results.backends)) {
    const e = r.embeddings;
    if (e?.skipped) console.log(`${name}: embeddings not measured (${e.skipped})`);
    else if (e) {
      console.log(
        `${name}: embeddings (Ollama test server, ${e.dims} dims, ${e.requests} /api/embed requests) ${e.msPerChunk.toFixed(2)} ms per chunk over ${e.chunks} chunks, ` +
          `against full-text ingest of the same libraries ${e.fullTextIngestMsPerChunk.toFixed(2)} ms per chunk (${(e.msPerChunk / e.fullTextIngestMsPerChunk).toFixed(1)}×)`,
      );
      console.log(
        `${name}: hybrid query-docs p50 ${e.queryDocsHybrid.p50.toFixed(1)} ms, p99 ${e.queryDocsHybrid.p99.toFixed(1)} ms (full-text, same run: p50 ${e.queryDocsFullText.p50.toFixed(1)} ms, p99 ${e.queryDocsFullText.p99.toFixed(1)} ms); ` +
          `hybrid search across all libraries p50 ${e.searchAllHybrid.p50.toFixed(1)} ms, p99 ${e.searchAllHybrid.p99.toFixed(1)} ms`,
      );
    }
  }
  const q = results.quality;
  console.log(`quality: ${q.questions} questions, recall@5 ${q.recallAt5.toFixed(3)}, MRR@10 ${q.mrrAt10.toFixed(3)} (goals 0.85 / 0.75)`);
  if (q.misses.length) console.log(`  not in the top 5: ${q.misses.join(' · ')}`);
  return results;
}
