import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeOllama, conceptEmbedder } from '../fixtures/ollama-server.js';
import { POSTGRES_URL, envelope, hasPostgres, root, startHttpServe, tempHome, twl } from '../helpers.js';

describe('twl docs through the CLI, MCP and REST (the built binary)', () => {
  let home: string;
  let cleanup: () => void;
  let child: Awaited<ReturnType<typeof startHttpServe>>['child'];
  let base: string;
  let key: string;

  beforeAll(async () => {
    ({ home, cleanup } = tempHome('twl-docs-e2e-'));
    const folder = path.join(home, 'runbook-notes');
    mkdirSync(folder);
    writeFileSync(path.join(folder, 'disk.md'), '# Disk full\n\n## Freeing space\n\nRotate the logs with `logrotate -f /etc/logrotate.conf`, then remove old journal files.\n\n```sh\njournalctl --vacuum-time=7d\n```\n');
    // npm:zod is read from the node_modules of the working directory: the project's.
    const zod = await twl(['docs', 'add', 'npm:zod', '--json'], { home, cwd: root });
    expect(zod.exitCode, zod.stderr).toBe(0);
    expect(envelope(zod.stdout).result).toMatchObject({ libraryId: '/npm/zod' });
    const local = await twl(['docs', 'add', folder, '--name', 'ops-notes'], { home });
    expect(local.exitCode, local.stderr).toBe(0);
    expect(local.stdout).toContain('/local/ops-notes@latest: 1 chunks from 1 pages');
    // Progress goes to stderr, never into stdout.
    expect(local.stderr).toContain('reading disk.md');
    ({ child, url: base } = await startHttpServe(home));
    key = (envelope((await twl(['keys', 'create', '--role', 'viewer', '--name', 'docs', '--json'], { home })).stdout).result as { key: string }).key;
  });
  afterAll(async () => {
    child?.kill('SIGTERM');
    await child;
    cleanup();
  });

  it('answers resolve-library-id and query-docs over MCP with Context7\'s arguments', async () => {
    const client = new Client({ name: 'docs-test', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${base}/mcp`), { requestInit: { headers: { authorization: `Bearer ${key}` } } }));
    try {
      const names = (await client.listTools()).tools.map((t) => t.name);
      expect(names).toEqual(expect.arrayContaining(['resolve-library-id', 'query-docs', 'docs_search']));
      const resolved = await client.callTool({ name: 'resolve-library-id', arguments: { libraryName: 'zod', query: 'validate user input' } });
      expect(resolved.isError).toBeFalsy();
      const libraries = (resolved.structuredContent as { libraries: Array<{ id: string }> }).libraries;
      expect(libraries[0]!.id).toBe('/npm/zod');
      const answer = await client.callTool({ name: 'query-docs', arguments: { libraryId: '/npm/zod', query: 'define a schema and parse data', tokens: 1000 } });
      expect(answer.isError).toBeFalsy();
      const results = (answer.structuredContent as { results: Array<{ libraryId: string; content: string; source: string }> }).results;
      expect(results.length).toBeGreaterThan(0);
      expect(results[0]!.libraryId).toBe('/npm/zod');
      expect(results.some((r) => r.content.includes('z.object('))).toBe(true);
      const unknown = await client.callTool({ name: 'query-docs', arguments: { libraryId: '/npm/nope', query: 'x' } });
      expect(unknown.isError).toBe(true);
      expect(JSON.stringify(unknown.content)).toContain('TWL_DOCS_LIBRARY_UNKNOWN');
    } finally {
      await client.close();
    }
  });

  it('answers the same through twl docs search --json and REST /api/tools', async () => {
    const cli = await twl(['docs', 'search', 'vacuum journal files', '--json'], { home });
    expect(cli.exitCode, cli.stderr).toBe(0);
    const hits = (envelope(cli.stdout).result as { results: Array<{ libraryId: string; headings: string[]; languages: string[] }> }).results;
    expect(hits[0]).toMatchObject({ libraryId: '/local/ops-notes', headings: ['Disk full', 'Freeing space'], languages: ['sh'] });
    const rest = await fetch(`${base}/api/tools/query-docs`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify({ libraryId: '/local/ops-notes', query: 'vacuum journal files' }) });
    expect(rest.status).toBe(200);
    const body = (await rest.json()) as { result: { results: Array<{ content: string }> } };
    expect(body.result.results[0]!.content).toContain('journalctl --vacuum-time=7d');
    // A viewer may read the index, not change it.
    const add = await fetch(`${base}/api/tools/docs_add_library`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify({ source: '/etc' }) });
    expect(add.status).toBe(403);
  });

  it('exports and imports an index into a fresh data dir with the same answers; bad input exits non-zero with the reason', async () => {
    const file = path.join(home, 'index.jsonl');
    const out = await twl(['docs', 'export', file, '--json'], { home });
    expect(out.exitCode, out.stderr).toBe(0);
    const fresh = tempHome('twl-docs-e2e-import-');
    try {
      const imported = await twl(['docs', 'import', file, '--json'], { home: fresh.home });
      expect(imported.exitCode, imported.stderr).toBe(0);
      const a = envelope((await twl(['docs', 'query', '/npm/zod', 'parse data', '--json'], { home })).stdout).result!;
      const b = envelope((await twl(['docs', 'query', '/npm/zod', 'parse data', '--json'], { home: fresh.home })).stdout).result!;
      const strip = (r: Record<string, unknown>) => (r.results as Array<Record<string, unknown>>).map((x) => [x.title, x.headings, x.content]);
      expect(strip(b)).toEqual(strip(a));
    } finally {
      fresh.cleanup();
    }
    const unknown = await twl(['docs', 'query', '/npm/nope', 'x', '--json'], { home });
    expect(unknown.exitCode).toBe(7);
    expect(envelope(unknown.stdout).error).toMatchObject({ code: 'TWL_DOCS_LIBRARY_UNKNOWN' });
    const traversal = await twl(['docs', 'add', 'npm:../../etc'], { home });
    expect(traversal.exitCode).toBe(2);
    expect(traversal.stderr).toContain('is not an npm package name');
  });
});

describe('twl docs search with embeddings (the built binary, the Ollama test server)', () => {
  const concepts = {
    network: ['network', 'connectivity', 'reach', 'gateway', 'interface', 'routes'],
    failure: ['cannot', 'failure', 'unable', 'down'],
    machine: ['machine', 'host', 'server'],
    storage: ['disk', 'space', 'full', 'logs', 'volume'],
  };
  const question = 'my machine cannot reach the network';
  let ollama: FakeOllama;
  const homes: Array<ReturnType<typeof tempHome>> = [];
  const configured = () => {
    const t = tempHome('twl-docs-vec-e2e-');
    homes.push(t);
    // A fresh store's creation can outlast the default lock wait (10 s) on a loaded machine (exit 6 seen): waited for longer.
    writeFileSync(path.join(t.home, '.twlrc.json'), JSON.stringify({ llm: { host: ollama.url }, docs: { embeddings: { model: 'nomic-embed-text' } }, store: { lockTimeout: '90s' } }));
    return t.home;
  };

  beforeAll(async () => {
    ollama = await new FakeOllama().start();
    ollama.onEmbed(conceptEmbedder(concepts));
  });
  afterAll(async () => {
    await ollama.stop();
    for (const t of homes) t.cleanup();
  });

  it('finds the answer to a paraphrased question on the embedded store, and again after export and import elsewhere', async () => {
    const home = configured();
    const folder = path.join(home, 'notes');
    mkdirSync(folder);
    writeFileSync(path.join(folder, 'net.md'), '# Connectivity failure on host\n\nRestart interface eth0, verify gateway routes.\n');
    writeFileSync(path.join(folder, 'disk.md'), '# Disk full on server\n\nRotate logs to free space on that volume.\n');
    const added = await twl(['docs', 'add', folder, '--name', 'net-notes', '--json'], { home });
    expect(added.exitCode, added.stdout + added.stderr).toBe(0);
    expect(envelope(added.stdout).result).toMatchObject({ chunks: 2, embedded: 2 });

    const search = await twl(['docs', 'search', question, '--json'], { home });
    expect(search.exitCode, search.stderr).toBe(0);
    const found = envelope(search.stdout);
    expect(found.warnings).toEqual([]);
    expect(found.result).toMatchObject({ mode: 'hybrid', results: [{ title: 'Connectivity failure on host' }, { title: 'Disk full on server' }] });

    const file = path.join(home, 'index.jsonl');
    expect((await twl(['docs', 'export', file], { home })).exitCode).toBe(0);
    const elsewhere = configured();
    const imported = await twl(['docs', 'import', file, '--json'], { home: elsewhere });
    expect(imported.exitCode, imported.stdout + imported.stderr).toBe(0);
    expect(envelope(imported.stdout).result).toMatchObject({ chunks: 2, embeddings: 2, embeddingsDropped: 0, embedded: 0 });
    const again = envelope((await twl(['docs', 'search', question, '--json'], { home: elsewhere })).stdout);
    expect(again.result).toMatchObject({ mode: 'hybrid', results: [{ title: 'Connectivity failure on host' }, { title: 'Disk full on server' }] });
   });

  it.runIf(hasPostgres)('on PostgreSQL without pgvector, answers with full-text search and says why in --json and on stderr', async () => {
    const home = configured();
    const env = { TWL_DATABASE_URL: POSTGRES_URL };
    const vector = await twl(['db', 'query', "select count(*)::int as n from pg_available_extensions where name = 'vector'", '--json'], { home, env });
    // This machine's PostgreSQL has no pgvector: the case under test.
    if (JSON.stringify(envelope(vector.stdout).result).includes('"n":1')) return;
    const json = await twl(['docs', 'search', question, '--json'], { home, env });
    expect(json.exitCode, json.stderr).toBe(0);
    const body = envelope(json.stdout);
    expect(body.result).toMatchObject({ mode: 'full-text' });
    expect(body.warnings).toEqual([expect.stringMatching(/^docs\.embeddings\.model is "nomic-embed-text", but this PostgreSQL server has no pgvector .*: answering with full-text search only\.$/)]);
    const human = await twl(['docs', 'search', question], { home, env });
    expect(human.exitCode, human.stderr).toBe(0);
    expect(human.stderr).toContain('Warning: docs.embeddings.model is "nomic-embed-text", but this PostgreSQL server has no pgvector');
    expect(human.stdout).not.toContain('pgvector');
  });
});
