import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
import { POSTGRES_URL, hasPostgres, tempHome, testRuntime } from '../helpers.js';
import { unique } from './backends.js';

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

const setups = [
  { name: 'embedded', available: true, db: {} },
  { name: 'postgres', available: hasPostgres, db: { url: POSTGRES_URL } },
];

describe.each(setups)('vector search on $name', ({ name: backend, available, db }) => {
  let ollama: FakeOllama;
  let t: ReturnType<typeof tempHome>;
  const library = unique('vec-notes');
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
    await invoke(removeOp, runtime, { library: `/local/${library}` }, { ask: async () => true }).catch(() => undefined);
    await runtime.close();
    await ollama.stop();
    t.cleanup();
  });

  it.runIf(available && backend === 'embedded')('finds the answer to a paraphrased question sharing no word with it, which full-text alone does not', async () => {
    forgetVectorState();
    const runtime = testRuntime(t.home, config());
    try {
      const warnings: string[] = [];
      const added = await invoke(addOp, runtime, { source: path.join(t.home, 'notes'), name: library }, { warn: (m) => warnings.push(m) });
      expect(warnings).toEqual([]);
      expect(added.embedded).toBe(added.chunks);
      // Batched: docs.embeddings.batch chunks per request, each embedded with its page title.
      const embeds = ollama.embeds();
      expect(embeds.every((e) => e.model === 'nomic-embed-text' && e.input.length <= 2)).toBe(true);
      expect(embeds.flatMap((e) => e.input).some((text) => text.startsWith('Connectivity failure on host\n'))).toBe(true);

      const store = await runtime.store();
      const fullText = await searchChunks(store, question, { limit: 10 });
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

  it.runIf(available && backend === 'postgres')('falls back to full-text search without pgvector, and says so once', async () => {
    forgetVectorState();
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
