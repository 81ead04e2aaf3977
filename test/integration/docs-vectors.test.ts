import { createWriteStream, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportIndex, importIndex } from '../../src/docs/library.js';
import { searchChunks } from '../../src/docs/search.js';
import { forgetVectorState } from '../../src/docs/vectors.js';
import { invoke } from '../../src/ops/invoke.js';
import addOp from '../../src/ops/docs/add.js';
import queryOp from '../../src/ops/docs/query.js';
import refreshOp from '../../src/ops/docs/refresh.js';
import removeOp from '../../src/ops/docs/remove.js';
import searchOp from '../../src/ops/docs/search.js';
import type { ConfigInput } from '../../src/runtime/config.js';
import { FakeOllama, conceptEmbedder } from '../fixtures/ollama-server.js';
import { tempHome, testRuntime } from '../helpers.js';
import { runtimeBackends, unique } from './backends.js';

/** Synonyms by concept: the test server's embeddings (see conceptEmbedder). */
const concepts = {
  network: ['network', 'connectivity', 'reach', 'internet', 'gateway', 'interface', 'online', 'routes'],
  failure: ['cannot', 'failure', 'broken', 'unable', 'down', 'outage', 'lost'],
  machine: ['machine', 'host', 'server', 'computer'],
  storage: ['disk', 'storage', 'space', 'volume', 'full', 'logs'],
  credentials: ['password', 'credentials', 'login', 'reset', 'forgotten'],
};
const question = 'my machine cannot reach the network';

/** Three pages; the answer to the question shares no word with it. */
function writeDocs(dir: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'net.md'), '# Connectivity failure on host\n\nRestart interface eth0, verify gateway routes.\n');
  writeFileSync(path.join(dir, 'disk.md'), '# Disk full on server\n\nRotate logs to free space on that volume.\n');
  writeFileSync(path.join(dir, 'login.md'), '# Forgotten password\n\nAn administrator resets credentials from a console.\n');
}

describe.each(runtimeBackends)('vector search on $name', ({ name: backend, available, db }) => {
  let ollama: FakeOllama;
  let t: ReturnType<typeof tempHome>;
  const libraries: string[] = [];
  /** A library of its own for each case, so that cases do not depend on each other. */
  const newLibrary = () => {
    const name = unique('vec-notes');
    libraries.push(name);
    return name;
  };
  const config = (model = 'nomic-embed-text'): ConfigInput => ({ database: db, llm: { host: ollama.url }, docs: { embeddings: { model, batch: 2 } } });

  beforeAll(async () => {
    if (!available) return;
    ollama = await new FakeOllama().start();
    ollama.onEmbed(conceptEmbedder(concepts));
    t = tempHome('twl-docs-vec-');
    writeDocs(path.join(t.home, 'notes'));
  });
  afterAll(async () => {
    if (!available) return;
    const runtime = testRuntime(t.home, { database: db });
    for (const library of libraries) await invoke(removeOp, runtime, { library: `/local/${library}` }, { ask: async () => true }).catch(() => undefined);
    await runtime.close();
    await ollama.stop();
    t.cleanup();
  });

  it.runIf(available && backend === 'embedded')('finds the answer to a paraphrased question sharing no word with it, which full-text alone does not', async () => {
    forgetVectorState();
    const library = newLibrary();
    const runtime = testRuntime(t.home, config());
    try {
      const warnings: string[] = [];
      const embedsBefore = ollama.embeds().length;
      const added = await invoke(addOp, runtime, { source: path.join(t.home, 'notes'), name: library }, { warn: (m) => warnings.push(m) });
      expect(warnings).toEqual([]);
      expect(added.embedded).toBe(added.chunks);
      // Batched: docs.embeddings.batch chunks per request, each embedded with its page title.
      const embeds = ollama.embeds().slice(embedsBefore);
      expect(embeds.every((e) => e.model === 'nomic-embed-text' && e.input.length <= 2)).toBe(true);
      expect(embeds.flatMap((e) => e.input).some((text) => text.startsWith('Connectivity failure on host\n'))).toBe(true);

      const store = await runtime.store();
      const fullText = await searchChunks(store, question, { limit: 50 });
      expect(fullText.map((h) => h.title)).not.toContain('Connectivity failure on host');

      // Every library (the HNSW index) and one library (an exact scan) alike.
      const all = await invoke(searchOp, runtime, { query: question, limit: 3 }, { warn: (m) => warnings.push(m) });
      expect(all.mode).toBe('hybrid');
      expect(all.results[0]!.title).toBe('Connectivity failure on host');
      const one = await invoke(queryOp, runtime, { libraryId: `/local/${library}`, query: question }, { warn: (m) => warnings.push(m) });
      expect(one.mode).toBe('hybrid');
      expect(one.results[0]!.content).toContain('Restart interface eth0');
      // Words still count: a question in the page's own words puts that page first.
      const words = await invoke(searchOp, runtime, { query: 'forgotten password', library: `/local/${library}` });
      expect(words.results[0]!.title).toBe('Forgotten password');
      expect(warnings).toEqual([]);
      const { rows } = await store.query<{ model: string; dims: number; n: string }>('SELECT model, dims, count(*) AS n FROM twl_doc_embeddings e JOIN twl_doc_versions v ON v.id = e.version_id WHERE v.library_id = $1 GROUP BY model, dims', [`/local/${library}`]);
      expect(rows).toEqual([{ model: 'nomic-embed-text', dims: Object.keys(concepts).length + 1, n: String(added.chunks) }]);
    } finally {
      await runtime.close();
    }
  });

  it.runIf(available && backend === 'embedded')('re-embeds at refresh when the model changes; Ollama failing leaves full-text answers and a warning', async () => {
    forgetVectorState();
    const library = newLibrary();
    const first = testRuntime(t.home, config());
    await invoke(addOp, first, { source: path.join(t.home, 'notes'), name: library });
    await first.close();
    const runtime = testRuntime(t.home, config('mxbai-embed-large'));
    try {
      const warnings: string[] = [];
      // Nothing embedded with this model yet: full-text, said once.
      const before = await invoke(searchOp, runtime, { query: question, library: `/local/${library}` }, { warn: (m) => warnings.push(m) });
      expect(before.mode).toBe('full-text');
      await invoke(searchOp, runtime, { query: question, library: `/local/${library}` }, { warn: (m) => warnings.push(m) });
      expect(warnings).toEqual([expect.stringMatching(/no chunk searched has an embedding from it yet .*twl docs refresh/)]);

      ollama.embedFails.add('mxbai-embed-large');
      const failed = await invoke(refreshOp, runtime, { library: `/local/${library}` }, { warn: (m) => warnings.push(m) });
      expect(failed.embedded).toBe(0);
      expect(warnings.at(-1)).toMatch(/Embedding with mxbai-embed-large stopped after 0 of 3 chunks: .*Full-text search finds them meanwhile/);
      expect((await invoke(searchOp, runtime, { query: 'rotate logs', library: `/local/${library}` })).results[0]!.title).toBe('Disk full on server');

      ollama.embedFails.delete('mxbai-embed-large');
      const refreshed = await invoke(refreshOp, runtime, { library: `/local/${library}` });
      expect(refreshed).toMatchObject({ changed: 0, embedded: 3 });
      expect(ollama.embeds().at(-1)!.model).toBe('mxbai-embed-large');
      const after = await invoke(searchOp, runtime, { query: question, library: `/local/${library}` });
      expect(after.mode).toBe('hybrid');
      expect(after.results[0]!.title).toBe('Connectivity failure on host');
    } finally {
      await runtime.close();
    }
  });

  it.runIf(available && backend === 'embedded')('export keeps the embeddings: an import on a fresh data dir answers the paraphrase without computing them again', async () => {
    forgetVectorState();
    const library = newLibrary();
    const file = path.join(t.home, `${library}.jsonl`);
    const runtime = testRuntime(t.home, config());
    const fresh = tempHome('twl-docs-vec-import-');
    const other = testRuntime(fresh.home, config());
    try {
      const added = await invoke(addOp, runtime, { source: path.join(t.home, 'notes'), name: library });
      const out = createWriteStream(file);
      for await (const line of exportIndex(await runtime.store(), `/local/${library}`)) out.write(`${JSON.stringify(line)}\n`);
      await new Promise((r) => out.end(r));
      const imported = await importIndex(await other.store(), file);
      expect(imported).toMatchObject({ chunks: added.chunks, embeddings: added.chunks, embeddingsDropped: 0 });
      const embedsBefore = ollama.embeds().length;
      const a = await invoke(searchOp, runtime, { query: question, library: `/local/${library}` });
      const b = await invoke(searchOp, other, { query: question, library: `/local/${library}` });
      expect(b.mode).toBe('hybrid');
      expect(b.results.map((r) => [r.title, r.content, r.score])).toEqual(a.results.map((r) => [r.title, r.content, r.score]));
      // Only the two questions were embedded: the chunks' vectors came from the file.
      expect(ollama.embeds().slice(embedsBefore).map((e) => e.input)).toEqual([[question], [question]]);
      // A tampered vector is refused, and nothing of the file is kept.
      const lines = readFileSync(file, 'utf8').split('\n');
      const page = lines.findIndex((l) => l.includes('"kind":"page"'));
      const bad = JSON.parse(lines[page]!) as { chunks: Array<{ embedding: { vector: unknown[] } }> };
      bad.chunks[0]!.embedding.vector[0] = 'NaN';
      lines[page] = JSON.stringify(bad);
      writeFileSync(file, lines.join('\n'));
      const again = tempHome('twl-docs-vec-bad-');
      const third = testRuntime(again.home, {});
      try {
        await expect(importIndex(await third.store(), file)).rejects.toMatchObject({ code: 'TWL_IMPORT_INVALID', message: expect.stringContaining("a chunk's embedding is not a model name and a list of numbers") });
        expect((await (await third.store()).query('SELECT count(*)::int AS n FROM twl_doc_chunks')).rows[0]).toEqual({ n: 0 });
      } finally {
        await third.close();
        again.cleanup();
      }
    } finally {
      await runtime.close();
      await other.close();
      fresh.cleanup();
    }
  });

  it.runIf(available && backend === 'postgres')('falls back to full-text search without pgvector, and says so once', async () => {
    forgetVectorState();
    const library = newLibrary();
    const runtime = testRuntime(t.home, config());
    try {
      const store = await runtime.store();
      const { rows } = await store.query<{ n: string }>("SELECT count(*) AS n FROM pg_available_extensions WHERE name = 'vector'");
      // This machine's PostgreSQL has no pgvector: the case under test. (With it, the embedded case's assertions apply.)
      if (rows[0]!.n !== '0') return;
      const warnings: string[] = [];
      const added = await invoke(addOp, runtime, { source: path.join(t.home, 'notes'), name: library }, { warn: (m) => warnings.push(m) });
      expect(added.embedded).toBeUndefined();
      expect(ollama.embeds()).toEqual([]);
      expect(warnings).toEqual([expect.stringMatching(/^docs\.embeddings\.model is "nomic-embed-text", but this PostgreSQL server has no pgvector .*: indexing with full-text search only\.$/)]);
      forgetVectorState();
      warnings.length = 0;
      for (const query of [question, 'rotate logs']) {
        const r = await invoke(searchOp, runtime, { query, library: `/local/${library}` }, { warn: (m) => warnings.push(m) });
        expect(r.mode).toBe('full-text');
      }
      expect(warnings).toEqual([expect.stringMatching(/^docs\.embeddings\.model is "nomic-embed-text", but this PostgreSQL server has no pgvector .*: answering with full-text search only\.$/)]);
      expect((await store.query("SELECT to_regclass('twl_doc_embeddings') AS t")).rows[0]).toEqual({ t: null });
    } finally {
      await runtime.close();
    }
  });
});
