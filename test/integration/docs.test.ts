import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportIndex, importIndex } from '../../src/docs/library.js';
import { invoke } from '../../src/ops/invoke.js';
import addOp from '../../src/ops/docs/add.js';
import listOp from '../../src/ops/docs/list.js';
import queryOp from '../../src/ops/docs/query.js';
import refreshOp from '../../src/ops/docs/refresh.js';
import removeOp from '../../src/ops/docs/remove.js';
import resolveOp from '../../src/ops/docs/resolve.js';
import searchOp from '../../src/ops/docs/search.js';
import type { ConfigInput } from '../../src/runtime/config.js';
import type { Runtime } from '../../src/runtime/context.js';
import { tempHome, testRuntime } from '../helpers.js';
import { runtimeBackends, unique } from './backends.js';

/** A folder of documentation in every format read, plus what must be skipped. */
function writeDocs(dir: string): void {
  mkdirSync(path.join(dir, 'guide'), { recursive: true });
  writeFileSync(
    path.join(dir, 'guide', 'pool.md'),
    [
      '# Connection pools',
      '',
      'A pool keeps connections open between queries.',
      '',
      '## Configuring the pool size',
      '',
      'Set `max` to bound the number of clients. The pool waits when every client is busy.',
      '',
      '```js',
      'const pool = new Pool({ max: 20 });',
      '',
      '## not a heading: inside the code fence',
      'await pool.query("select 1");',
      '```',
      '',
      '## Timeouts',
      '',
      'idleTimeoutMillis closes idle clients.',
    ].join('\n'),
  );
  writeFileSync(path.join(dir, 'guide', 'motdepasse.md'), '# Réinitialiser un mot de passe\n\nPour réinitialiser le mot de passe d\'un utilisateur, ouvrez la console d\'administration et choisissez « Réinitialiser ».\n');
  writeFileSync(path.join(dir, 'page.html'), '<html><head><title>Widgets</title><script>window.evil = "stolen-cookie"</script></head><body><nav>menu</nav><main><h1>Widgets</h1><p>Widgets render dashboards from time series. A widget refreshes every minute by default and can be configured per panel.</p><pre><code class="language-python">print("widget")</code></pre></main></body></html>');
  writeFileSync(path.join(dir, 'api.rst'), 'Rate limits\n===========\n\nEach key has a bucket of tokens.\n\nRefill\n------\n\nThe bucket refills every minute::\n\n    bucket.refill(60)\n\n.. code-block:: python\n\n    limiter.take()\n');
  writeFileSync(path.join(dir, 'intro.mdx'), 'import { Tabs } from "./tabs"\n\n# Introduction to gadgets\n\n<Tabs>\n\nGadgets are configured with YAML files.\n\n</Tabs>\n');
  writeFileSync(path.join(dir, 'notes.txt'), 'Plain text notes about the zeppelin hangar.');
  writeFileSync(path.join(dir, 'logo.md'), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x00, 0x00, 0x01, 0x02]));
  writeFileSync(path.join(dir, 'huge.md'), `# Huge\n\n${'x'.repeat(40_000)}\n`);
}

// Each case can run alone (vitest -t): what they all read is indexed in beforeAll.
describe.each(runtimeBackends)('docs on $name', ({ available, db }) => {
  let runtime: Runtime;
  let added: Awaited<ReturnType<typeof addFolder>>;
  let zod: Awaited<ReturnType<typeof addFolder>>;
  const addFolder = () => invoke(addOp, runtime, { source: folder, name });
  let cleanup: () => void;
  let home: string;
  let folder: string;
  const name = unique('handbook');
  const config = (): ConfigInput => ({ database: db, docs: { maxFileBytes: 32 * 1024 } });

  beforeAll(async () => {
    if (!available) return;
    ({ home, cleanup } = tempHome('twl-docs-'));
    folder = path.join(home, 'src-docs');
    writeDocs(folder);
    runtime = testRuntime(home, config());
    added = await addFolder();
    zod = await invoke(addOp, runtime, { source: 'npm:zod' });
  });
  afterAll(async () => {
    if (!available) return;
    await invoke(removeOp, runtime, { library: `/local/${name}` }, { ask: async () => true }).catch(() => undefined);
    await invoke(removeOp, runtime, { library: `/npm/zod` }, { ask: async () => true }).catch(() => undefined);
    await runtime.close();
    cleanup();
  });

  it.runIf(available)('indexes a folder: every format, headings as paths, code fences whole with their language, binary and oversized files skipped with the reason', async () => {
    const r = added;
    expect(r.libraryId).toBe(`/local/${name}`);
    expect(r.version).toBe('latest');
    expect(r.pages).toBe(6);
    expect(r.skipped).toEqual(
      expect.arrayContaining([
        { location: 'logo.md', reason: 'binary content (not UTF-8 text)' },
        { location: 'huge.md', reason: expect.stringContaining('larger than docs.maxFileBytes') },
      ]),
    );
    const pool = await invoke(searchOp, runtime, { query: 'configure pool size', library: `/local/${name}`, limit: 5 });
    const top = pool.results[0]!;
    expect(top.headings).toEqual(['Connection pools', 'Configuring the pool size']);
    expect(top.languages).toEqual(['js']);
    // The fence is whole: the "heading" inside it stayed code, and the fence is closed.
    expect(top.content).toContain('## not a heading: inside the code fence\nawait pool.query("select 1");\n```');
    expect(top.source).toMatch(/^file:\/\/.*guide\/pool\.md$/);

    const html = await invoke(searchOp, runtime, { query: 'widget dashboards', library: `/local/${name}` });
    expect(html.results[0]!.title).toBe('Widgets');
    expect(html.results[0]!.content).toContain('```python\nprint("widget")\n```');
    expect(JSON.stringify(html.results)).not.toContain('stolen-cookie');

    const rst = await invoke(searchOp, runtime, { query: 'bucket refill', library: `/local/${name}` });
    expect(rst.results[0]!.headings).toEqual(['Rate limits', 'Refill']);
    expect(rst.results[0]!.content).toContain('```python\nlimiter.take()\n```');

    const mdx = await invoke(searchOp, runtime, { query: 'gadgets yaml', library: `/local/${name}` });
    expect(mdx.results[0]!.content).not.toContain('import {');
  });

  it.runIf(available)('finds French and English alike, accents or not, and stems', async () => {
    const fr = await invoke(searchOp, runtime, { query: 'reinitialiser mot de passe', library: `/local/${name}` });
    expect(fr.results[0]?.title).toBe('Réinitialiser un mot de passe');
    const accents = await invoke(searchOp, runtime, { query: 'réinitialisation', library: `/local/${name}` });
    expect(accents.results[0]?.title).toBe('Réinitialiser un mot de passe');
    const en = await invoke(searchOp, runtime, { query: 'timeouts for idle clients', library: `/local/${name}` });
    expect(en.results[0]?.headings).toContain('Timeouts');
  });

  it.runIf(available)('resolve-library-id finds npm:zod by name and with a typo; query-docs answers from it within the budget, then from the cache', async () => {
    const added = zod;
    expect(added.libraryId).toBe('/npm/zod');
    expect(added.version).toMatch(/^\d+\.\d+\.\d+/);
    const resolved = await invoke(resolveOp, runtime, { libraryName: 'zod' });
    expect(resolved.libraries[0]).toMatchObject({ id: '/npm/zod', name: 'zod', score: 1 });
    expect(resolved.libraries[0]!.versions[0]!.id).toBe(`/npm/zod@${added.version}`);
    expect(resolved.libraries[0]!.snippets).toBeGreaterThan(3);
    const typo = await invoke(resolveOp, runtime, { libraryName: 'zodd' });
    expect(typo.libraries[0]?.id).toBe('/npm/zod');

    const q = { libraryId: `/npm/zod@${added.version.split('.')[0]}`, query: 'parse untrusted data with a schema', tokens: 400 };
    const answer = await invoke(queryOp, runtime, q);
    expect(answer.libraryId).toBe(`/npm/zod@${added.version}`);
    expect(answer.results.length).toBeGreaterThan(0);
    expect(answer.results.every((r) => r.libraryId === '/npm/zod')).toBe(true);
    expect(answer.results[0]!.source).toMatch(/node_modules\/zod\/README\.md$/);
    expect(answer.tokens).toBeLessThanOrEqual(400 + answer.results[0]!.tokens);
    expect(answer.cached).toBe(false);
    expect((await invoke(queryOp, runtime, q)).cached).toBe(true);
  });

  it.runIf(available)('refuses bad input clearly: an unknown library id, a path out of node_modules, a missing folder', async () => {
    await expect(invoke(queryOp, runtime, { libraryId: '/npm/no-such-lib-xyz', query: 'x' })).rejects.toMatchObject({ code: 'TWL_DOCS_LIBRARY_UNKNOWN', message: expect.stringContaining('No library /npm/no-such-lib-xyz is indexed') });
    await expect(invoke(queryOp, runtime, { libraryId: 'zod', query: 'x' })).rejects.toMatchObject({ code: 'TWL_DOCS_LIBRARY_UNKNOWN', message: expect.stringContaining('not a library id') });
    await expect(invoke(queryOp, runtime, { libraryId: '/npm/zod@0.0.1', query: 'x' })).rejects.toMatchObject({ message: expect.stringContaining('has no version 0.0.1 indexed') });
    for (const source of ['npm:../..', 'npm:../../etc', 'npm:@x/../../y', 'npm:zod/../..']) {
      await expect(invoke(addOp, runtime, { source }), source).rejects.toMatchObject({ code: 'TWL_INPUT_INVALID' });
    }
    await expect(invoke(addOp, runtime, { source: path.join(home, 'nowhere') })).rejects.toMatchObject({ code: 'TWL_DOCS_SOURCE', message: expect.stringContaining('Cannot read') });
    // Over MCP or REST, local paths only inside docs.roots (none here): the server's disk is not the caller's.
    for (const face of ['mcp', 'rest'] as const) {
      await expect(invoke(addOp, runtime, { source: folder }, { caller: { face, actor: `${face}:test` } })).rejects.toMatchObject({ code: 'TWL_DOCS_SOURCE', message: expect.stringContaining('not inside docs.roots (none configured)') });
      await expect(invoke(addOp, runtime, { source: `git:${folder}/../..` }, { caller: { face, actor: `${face}:test` } })).rejects.toMatchObject({ code: 'TWL_DOCS_SOURCE' });
    }
    // Neither a file nor a folder (a named pipe would block a reader forever).
    const fifo = path.join(home, 'pipe.md');
    execFileSync('mkfifo', [fifo]);
    await expect(invoke(addOp, runtime, { source: fifo })).rejects.toMatchObject({ code: 'TWL_DOCS_SOURCE', message: expect.stringContaining('is neither a file nor a folder') });
  });

  it.runIf(available)('a failed add leaves the version indexed before searchable; a refresh re-reads only what changed', async () => {
    const before = await invoke(listOp, runtime, {});
    const mine = () => before.libraries.find((l) => l.id === `/local/${name}`)!;
    expect(mine().versions[0]!.chunks).toBeGreaterThan(0);
    // A source with nothing readable is refused before anything is written.
    const binaryOnly = path.join(home, 'binary-only');
    mkdirSync(binaryOnly);
    writeFileSync(path.join(binaryOnly, 'a.md'), Buffer.from([0, 1, 2, 3]));
    await expect(invoke(addOp, runtime, { source: binaryOnly, name })).rejects.toMatchObject({ code: 'TWL_DOCS_SOURCE', message: expect.stringContaining('Nothing to index') });
    const after = await invoke(listOp, runtime, {});
    expect(after.libraries.find((l) => l.id === `/local/${name}`)!.versions).toEqual(mine().versions);
    expect((await invoke(searchOp, runtime, { query: 'zeppelin hangar', library: `/local/${name}` })).results).toHaveLength(1);

    // Refresh: one file changed, one removed; the others are kept as they were.
    writeFileSync(path.join(folder, 'notes.txt'), 'Plain text notes about the airship dock.');
    const { rmSync } = await import('node:fs');
    rmSync(path.join(folder, 'intro.mdx'));
    const refreshed = await invoke(refreshOp, runtime, { library: `/local/${name}` });
    expect(refreshed).toMatchObject({ changed: 1, unchanged: 4, removed: 1, pages: 5 });
    expect((await invoke(searchOp, runtime, { query: 'zeppelin', library: `/local/${name}` })).results).toHaveLength(0);
    expect((await invoke(searchOp, runtime, { query: 'airship dock', library: `/local/${name}` })).results).toHaveLength(1);
  });

  it.runIf(available)('export then import on a fresh data dir gives the same answers', async () => {
    const file = path.join(home, 'export.jsonl');
    const { createWriteStream } = await import('node:fs');
    const out = createWriteStream(file);
    for await (const line of exportIndex(await runtime.store(), `/local/${name}`)) out.write(`${JSON.stringify(line)}\n`);
    await new Promise((r) => out.end(r));
    const fresh = tempHome('twl-docs-import-');
    // PostgreSQL is shared: the import goes into the embedded store of a fresh data dir.
    const other = testRuntime(fresh.home, {});
    try {
      const imported = await importIndex(await other.store(), file);
      expect(imported.versions).toEqual([`/local/${name}@latest`]);
      for (const query of ['configure pool size', 'reinitialiser mot de passe', 'bucket refill']) {
        const a = await invoke(searchOp, runtime, { query, library: `/local/${name}` });
        const b = await invoke(searchOp, other, { query, library: `/local/${name}` });
        expect(b.results.map((r) => [r.title, r.headings, r.content, r.source]), query).toEqual(a.results.map((r) => [r.title, r.headings, r.content, r.source]));
      }
    } finally {
      await other.close();
      fresh.cleanup();
    }
  });
});

describe('a local git repository at a ref', () => {
  it('indexes the docs as they are at a tag and at HEAD, side by side, and refuses a ref that looks like an option', async () => {
    const t = tempHome('twl-docs-git-');
    const repo = path.join(t.home, 'proj');
    mkdirSync(path.join(repo, 'docs'), { recursive: true });
    const git = (...args: string[]) => execFileSync('git', ['-C', repo, '-c', 'user.email=t@example.com', '-c', 'user.name=t', ...args]);
    git('init', '-q');
    writeFileSync(path.join(repo, 'docs', 'deploy.md'), '# Deploying\n\nVersion one deploys with the blue lever.\n');
    git('add', '.');
    git('commit', '-qm', 'one');
    git('tag', 'v1.0.0');
    writeFileSync(path.join(repo, 'docs', 'deploy.md'), '# Deploying\n\nVersion two deploys with the green button.\n');
    git('commit', '-qam', 'two');
    // Uncommitted changes are not read.
    writeFileSync(path.join(repo, 'docs', 'deploy.md'), '# Deploying\n\nUncommitted purple switch.\n');
    const runtime = testRuntime(t.home, {});
    try {
      const v1 = await invoke(addOp, runtime, { source: `git:${repo}@v1.0.0` });
      expect(v1).toMatchObject({ libraryId: '/git/proj', version: 'v1.0.0', pages: 1 });
      const head = await invoke(addOp, runtime, { source: `git:${repo}` });
      expect(head.version).toBe('latest');
      const one = await invoke(queryOp, runtime, { libraryId: '/git/proj@v1.0.0', query: 'how to deploy' });
      expect(one.results[0]!.content).toContain('blue lever');
      const latest = await invoke(queryOp, runtime, { libraryId: '/git/proj@latest', query: 'how to deploy' });
      expect(latest.results[0]!.content).toContain('green button');
      expect(JSON.stringify(latest)).not.toContain('purple');
      await expect(invoke(addOp, runtime, { source: `git:${repo}@--upload-pack=touch /tmp/pwned` })).rejects.toMatchObject({ code: 'TWL_INPUT_INVALID' });
      await expect(invoke(addOp, runtime, { source: `git:${repo}@no-such-tag` })).rejects.toMatchObject({ code: 'TWL_DOCS_SOURCE' });
    } finally {
      await runtime.close();
      t.cleanup();
    }
  });
});
