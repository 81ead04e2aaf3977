import net from 'node:net';
import { addressRefusal, deniedNetworks, fetchOnce, hostAllowed, type Fetched } from '../../agents/browser/browse.js';
import type { Config } from '../../runtime/config.js';
import { TwlError, messageOf } from '../../runtime/errors.js';
import { formatOf, isText, toPage } from '../formats.js';
import { contentHash } from './local.js';
import type { GatherOptions, Gathered, Skipped, SourceDoc } from './types.js';

export interface CrawlOptions {
  /** Links followed from the start page: 0 reads the start page only. */
  depth: number;
  /** Globs over the URL's path (picomatch): a page must match one (when given) and none of exclude. */
  include: string[];
  exclude: string[];
  maxPages: number;
  /** Requests per second, at most (robots.txt's Crawl-delay slows it further). */
  rate: number;
}

const userAgent = 'twl-docs';

/** What robots-parser answers (its bundled types do not declare the export usably). */
interface Robots {
  isDisallowed(url: string, ua?: string): boolean | undefined;
  getCrawlDelay(ua?: string): number | undefined;
  getSitemaps(): string[];
}

/** Why a URL may not be crawled under the browser policy (browser.allow, deny, denyNetworks), or undefined. */
export function urlRefusal(policy: Config['browser'], url: URL): string | undefined {
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return `only http:// and https:// sites are crawled, not ${url.protocol}`;
  const check = hostAllowed(policy, url.hostname);
  if (!check.allowed) return check.why;
  const literal = url.hostname.replace(/^\[|\]$/g, '');
  return net.isIP(literal) ? addressRefusal(deniedNetworks(policy), literal) : undefined;
}

/**
 * A same-origin crawl from a start URL: robots.txt honoured, sitemap.xml and llms.txt used as
 * extra starting points, include/exclude globs and a depth, a rate limit, conditional requests
 * (ETag, Last-Modified) on refresh. Every connection goes through the browse guard (no
 * link-local or metadata addresses, whatever a name resolves to). A dead link is reported and
 * the crawl goes on.
 */
export async function crawl(start: string, policy: Config['browser'], crawlOptions: CrawlOptions, options: GatherOptions): Promise<Gathered> {
  let origin: URL;
  try {
    origin = new URL(start);
  } catch {
    throw new TwlError('TWL_INPUT_INVALID', `"${start}" is not a URL.`, { actions: ['Give a site as https://host/path.'] });
  }
  const refusal = urlRefusal(policy, origin);
  if (refusal) throw new TwlError('TWL_BROWSE_REFUSED', `Refused to crawl ${origin.href}: ${refusal}.`);
  const picomatch = (await import('picomatch')).default;
  const included = crawlOptions.include.length ? picomatch(crawlOptions.include) : () => true;
  const excluded = crawlOptions.exclude.length ? picomatch(crawlOptions.exclude) : () => false;
  const denied = deniedNetworks(policy);
  const skipped: Skipped[] = [];
  const docs: SourceDoc[] = [];
  let requests = 0;
  let last = 0;
  let interval = 1000 / crawlOptions.rate;

  const get = async (url: URL, headers: Record<string, string> = {}): Promise<{ res: Fetched; url: URL }> => {
    for (let hop = 0; ; hop++) {
      const wait = last + interval - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      last = Date.now();
      options.signal.throwIfAborted();
      requests++;
      const res = await fetchOnce(url, policy, denied, AbortSignal.any([options.signal, AbortSignal.timeout(policy.timeout)]), headers);
      const location = res.headers.location;
      if (res.status < 300 || res.status >= 400 || res.status === 304 || !location) return { res, url };
      const next = new URL(location, url);
      if (next.origin !== origin.origin) throw new Error(`redirected off the site to ${next.origin}`);
      if (hop >= 5) throw new Error('more than 5 redirects');
      url = next;
    }
  };
  const text = async (url: URL): Promise<string | undefined> => {
    try {
      const { res } = await get(url);
      return res.status === 200 && isText(res.body) ? res.body.toString('utf8') : undefined;
    } catch {
      return undefined;
    }
  };

  const robotsParser = (await import('robots-parser')).default as unknown as (url: string, body: string) => Robots;
  const robotsUrl = new URL('/robots.txt', origin);
  const robots = robotsParser(robotsUrl.href, (await text(robotsUrl)) ?? '');
  const delay = robots.getCrawlDelay(userAgent);
  if (delay) interval = Math.max(interval, delay * 1000);

  const queue: Array<{ url: URL; depth: number }> = [];
  const seen = new Set<string>();
  const enqueue = (raw: string, depth: number, base: URL) => {
    let url: URL;
    try {
      url = new URL(raw, base);
    } catch {
      return;
    }
    url.hash = '';
    if (url.origin !== origin.origin || seen.has(url.href)) return;
    seen.add(url.href);
    if (robots.isDisallowed(url.href, userAgent)) return void skipped.push({ location: url.href, reason: 'disallowed by robots.txt' });
    if (depth > 0 && (!included(url.pathname) || excluded(url.pathname))) return;
    queue.push({ url, depth });
  };
  enqueue(origin.href, 0, origin);
  // sitemap.xml (and those robots.txt names) and llms.txt list pages the links may not reach.
  for (const sitemap of [...new Set([...robots.getSitemaps(), new URL('/sitemap.xml', origin).href])]) {
    const xml = await text(new URL(sitemap, origin));
    for (const m of xml?.matchAll(/<loc>\s*([^<\s]+)\s*<\/loc>/g) ?? []) enqueue(m[1]!.replaceAll('&amp;', '&'), 1, origin);
  }
  const llms = await text(new URL('/llms.txt', origin));
  for (const m of llms?.matchAll(/\]\(([^)\s]+)\)/g) ?? []) enqueue(m[1]!, 1, origin);

  while (queue.length && docs.length < crawlOptions.maxPages) {
    const { url, depth } = queue.shift()!;
    options.progress(`fetching ${url.href}`, docs.length, Math.min(crawlOptions.maxPages, docs.length + queue.length + 1));
    const known = options.known.get(url.href);
    const conditional: Record<string, string> = {};
    if (known?.etag) conditional['if-none-match'] = known.etag;
    if (known?.lastModified) conditional['if-modified-since'] = known.lastModified;
    let fetched: { res: Fetched; url: URL };
    try {
      fetched = await get(url, conditional);
    } catch (err) {
      if (options.signal.aborted) throw err;
      skipped.push({ location: url.href, reason: `unreachable: ${messageOf(err)}` });
      continue;
    }
    const { res } = fetched;
    const etag = (res.headers.etag as string | undefined) ?? null;
    const lastModified = (res.headers['last-modified'] as string | undefined) ?? null;
    if (res.status === 304 && known) {
      docs.push({ location: url.href, url: url.href, hash: known.hash, etag: etag ?? known.etag, lastModified: lastModified ?? known.lastModified, links: known.links });
      if (depth < crawlOptions.depth) for (const link of known.links) enqueue(link, depth + 1, url);
      continue;
    }
    if (res.status !== 200) {
      skipped.push({ location: url.href, reason: `HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''} (dead link)` });
      continue;
    }
    if (res.truncated) {
      skipped.push({ location: url.href, reason: `larger than browser.maxBytes (${policy.maxBytes} bytes)` });
      continue;
    }
    if (!isText(res.body)) {
      skipped.push({ location: url.href, reason: 'binary content (not UTF-8 text)' });
      continue;
    }
    const type = String(res.headers['content-type'] ?? '');
    const kind = type.includes('html') ? 'html' : type.includes('markdown') ? 'markdown' : (formatOf(url.pathname) ?? (type.startsWith('text/') ? 'text' : undefined));
    if (!kind) {
      skipped.push({ location: url.href, reason: `not documentation (${type || 'no content type'})` });
      continue;
    }
    const body = res.body.toString('utf8');
    const hash = contentHash(body);
    const page = known?.hash === hash ? undefined : await toPage(kind, body, url.pathname, url.href);
    const links = page?.links ?? known?.links ?? [];
    docs.push({ location: url.href, url: url.href, hash, etag, lastModified, links, page });
    if (depth < crawlOptions.depth) for (const link of links) enqueue(link, depth + 1, url);
  }
  return { docs, skipped, requests, name: origin.hostname, kind: 'web' };
}
