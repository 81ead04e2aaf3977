import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { invoke } from '../../src/ops/invoke.js';
import addOp from '../../src/ops/docs/add.js';
import refreshOp from '../../src/ops/docs/refresh.js';
import searchOp from '../../src/ops/docs/search.js';
import showOp from '../../src/ops/docs/show.js';
import type { Runtime } from '../../src/runtime/context.js';
import { tempHome, testRuntime } from '../helpers.js';

const page = (title: string, body: string, links: string[] = []) =>
  `<!doctype html><html><head><title>${title}</title><script>document.cookie="x"</script></head><body><nav>${links.map((l) => `<a href="${l}">${l}</a>`).join(' ')}</nav><main><h1>${title}</h1><p>${body}</p></main></body></html>`;

/** A small documentation site with robots.txt, a sitemap, llms.txt, ETags, a dead link and a deep chain. */
function site() {
  const pages: Record<string, string> = {
    '/docs/': page('Home', 'Welcome to the orchard documentation. Read the guides below to plant and prune your trees.', ['/docs/apples.html', '/docs/pears.html', '/private/secret.html', '/docs/dead.html', '/docs/deep1.html', '/docs/old/legacy.html', 'https://elsewhere.example/out.html']),
    '/docs/apples.html': page('Apples', 'Apples are pruned in late winter, when the tree is dormant.'),
    '/docs/pears.html': page('Pears', 'Pears need a pollinator variety planted nearby.'),
    '/private/secret.html': page('Secret', 'The robots file forbids this page.'),
    '/docs/deep1.html': page('Deep one', 'First level of the chain.', ['/docs/deep2.html']),
    '/docs/deep2.html': page('Deep two', 'Second level of the chain.', ['/docs/deep3.html']),
    '/docs/deep3.html': page('Deep three', 'Third level: beyond the depth asked.'),
    '/docs/old/legacy.html': page('Legacy', 'An excluded page about quinces.'),
    '/docs/from-sitemap.html': page('Sitemap only', 'Cherries are listed only in the sitemap.'),
    '/docs/llms-only.md': '# Plums\n\nPlums are listed only in llms.txt.\n',
  };
  const log: Array<{ path: string; status: number }> = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const send = (status: number, body: string, type = 'text/html') => {
      log.push({ path: url.pathname, status });
      const etag = `"${createHash('sha1').update(body).digest('hex')}"`;
      if (status === 200 && req.headers['if-none-match'] === etag) {
        log[log.length - 1]!.status = 304;
        res.writeHead(304, { etag });
        return res.end();
      }
      res.writeHead(status, { 'content-type': type, etag });
      res.end(body);
    };
    if (url.pathname === '/robots.txt') return send(200, 'User-agent: *\nDisallow: /private/\n', 'text/plain');
    if (url.pathname === '/sitemap.xml') return send(200, `<?xml version="1.0"?><urlset><url><loc>http://${req.headers.host}/docs/from-sitemap.html</loc></url></urlset>`, 'application/xml');
    if (url.pathname === '/llms.txt') return send(200, '# Orchard\n\n- [Plums](/docs/llms-only.md): plums\n', 'text/plain');
    const body = pages[url.pathname];
    if (body === undefined) return send(404, 'not found', 'text/plain');
    return send(200, body, url.pathname.endsWith('.md') ? 'text/markdown' : 'text/html');
  });
  return { server, pages, log };
}

describe('crawling a site into the docs index', () => {
  let runtime: Runtime;
  let cleanup: () => void;
  let base: string;
  const s = site();

  beforeAll(async () => {
    await new Promise<void>((r) => s.server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(s.server.address() as AddressInfo).port}`;
    const t = tempHome('twl-crawl-');
    cleanup = t.cleanup;
    // A high rate: the limit is honoured, but the test need not wait for it.
    runtime = testRuntime(t.home, { docs: { crawl: { rate: 100 } } });
  });
  afterAll(async () => {
    await runtime?.close();
    s.server.close();
    cleanup?.();
  });

  it('honours robots.txt, depth and globs, uses sitemap.xml and llms.txt, and reports a dead link without stopping', async () => {
    const r = await invoke(addOp, runtime, { source: `${base}/docs/`, name: 'orchard', depth: 2, exclude: ['/docs/old/**'] });
    expect(r.libraryId).toBe('/web/orchard');
    const shown = await invoke(showOp, runtime, { library: '/web/orchard' });
    const paths = shown.pages.map((p) => new URL(p.location).pathname).sort();
    expect(paths).toEqual(['/docs/', '/docs/apples.html', '/docs/deep1.html', '/docs/deep2.html', '/docs/from-sitemap.html', '/docs/llms-only.md', '/docs/pears.html']);
    // Robots: never fetched, and said why.
    expect(s.log.some((l) => l.path.startsWith('/private/'))).toBe(false);
    expect(r.skipped).toContainEqual({ location: `${base}/private/secret.html`, reason: 'disallowed by robots.txt' });
    // Depth 2: deep3 is three links away. Globs: the excluded folder is never fetched.
    expect(s.log.some((l) => l.path === '/docs/deep3.html' || l.path.startsWith('/docs/old/'))).toBe(false);
    expect(r.skipped).toContainEqual({ location: `${base}/docs/dead.html`, reason: 'HTTP 404 Not Found (dead link)' });
    // The script is not indexed; a page's content is.
    const found = await invoke(searchOp, runtime, { query: 'prune dormant tree', library: '/web/orchard' });
    expect(found.results[0]!.title).toBe('Apples');
    expect(JSON.stringify(found)).not.toContain('cookie');
    expect((await invoke(searchOp, runtime, { query: 'plums', library: '/web/orchard' })).results[0]?.source).toBe(`${base}/docs/llms-only.md`);
  });

  it('re-reads only the page that changed on refresh (the server\'s log says so)', async () => {
    s.pages['/docs/pears.html'] = page('Pears', 'Pears ripen off the tree, in a cool cellar.');
    s.log.length = 0;
    const r = await invoke(refreshOp, runtime, { library: '/web/orchard' });
    expect(r).toMatchObject({ changed: 1, unchanged: 6, removed: 0 });
    const pagesServed = s.log.filter((l) => l.path.startsWith('/docs/') && l.status === 200).map((l) => l.path);
    expect(pagesServed).toEqual(['/docs/pears.html']);
    expect(s.log.filter((l) => l.status === 304).length).toBe(6);
    expect((await invoke(searchOp, runtime, { query: 'cellar', library: '/web/orchard' })).results[0]?.title).toBe('Pears');
  });

  it('refuses hosts outside browser.allow and link-local (metadata) addresses without connecting', async () => {
    const strict = testRuntime(tempHome('twl-crawl-strict-').home, { browser: { allow: ['docs.example.com'] } });
    try {
      await expect(invoke(addOp, strict, { source: `${base}/docs/` })).rejects.toMatchObject({ code: 'TWL_BROWSE_REFUSED', message: expect.stringContaining('matches no browser.allow pattern') });
    } finally {
      await strict.close();
    }
    for (const url of ['http://169.254.169.254/latest/meta-data/', 'http://[fe80::1]/', 'http://0.0.0.0/', 'file:///etc/passwd']) {
      const err = await invoke(addOp, runtime, { source: url }).catch((e: unknown) => e);
      if (url.startsWith('file:')) {
        // Not a URL source: read as a (missing) local path.
        expect(err, url).toMatchObject({ code: 'TWL_DOCS_SOURCE' });
      } else expect(err, url).toMatchObject({ code: 'TWL_BROWSE_REFUSED' });
    }
  });
});
