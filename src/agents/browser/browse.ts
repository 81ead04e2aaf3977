import dns from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Config } from '../../runtime/config.js';
import { TwlError, messageOf } from '../../runtime/errors.js';

export interface Timings {
  dnsMs: number | null;
  connectMs: number | null;
  tlsMs: number | null;
  firstByteMs: number | null;
  totalMs: number;
}

export interface Hop {
  url: string;
  status: number;
  location: string | null;
}

export interface BrowseResult {
  url: string;
  finalUrl: string;
  status: number;
  statusText: string;
  redirects: Hop[];
  timings: Timings;
  tls: { subject: string; issuer: string; validFrom: string; validTo: string; daysLeft: number; protocol: string | null } | null;
  headers: Record<string, string>;
  contentType: string | null;
  sizeBytes: number;
  truncated: boolean;
  title: string | null;
  text: string | null;
}

const glob = (pattern: string) => new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 'i');

/** The browser policy: a host must match an allow pattern and no deny pattern. */
export function hostAllowed(policy: Config['browser'], host: string): { allowed: boolean; why: string } {
  const denied = policy.deny.find((p) => glob(p).test(host));
  if (denied) return { allowed: false, why: `${host} matches browser.deny "${denied}"` };
  const allowed = policy.allow.find((p) => glob(p).test(host));
  return allowed ? { allowed: true, why: `browser.allow "${allowed}"` } : { allowed: false, why: `${host} matches no browser.allow pattern (${policy.allow.join(', ')})` };
}

/** The address behind an IPv4-mapped IPv6 one (::ffff:a9fe:a9fe is 169.254.169.254), else the address itself. */
function unmapped(address: string): string {
  const m = /^::ffff:(?:(\d+\.\d+\.\d+\.\d+)|([0-9a-f]{1,4}):([0-9a-f]{1,4}))$/i.exec(address);
  if (!m) return address;
  if (m[1]) return m[1];
  const hi = parseInt(m[2]!, 16);
  const lo = parseInt(m[3]!, 16);
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}

/** The ranges of browser.denyNetworks as a BlockList (checked on the address actually connected to). */
export function deniedNetworks(policy: Config['browser']): net.BlockList {
  const list = new net.BlockList();
  for (const cidr of policy.denyNetworks) {
    const [address, bits] = cidr.split('/') as [string, string];
    const family = net.isIPv6(address) ? 'ipv6' : 'ipv4';
    list.addSubnet(address, Number(bits), family);
  }
  return list;
}

/** Why an address may not be connected to, or undefined when it may. */
export function addressRefusal(list: net.BlockList, address: string): string | undefined {
  const plain = unmapped(address.replace(/^\[|\]$/g, ''));
  const family = net.isIPv6(plain) ? 'ipv6' : net.isIPv4(plain) ? 'ipv4' : undefined;
  if (!family) return `${address} is not an IP address`;
  return list.check(plain, family) ? `${plain} is in browser.denyNetworks` : undefined;
}

/**
 * A dns.lookup that refuses addresses in browser.denyNetworks: the check applies to what the name
 * resolves to at connection time, so a name that points at a metadata service (or is rebound to
 * one between two lookups) is refused too.
 */
export function guardedLookup(list: net.BlockList): net.LookupFunction {
  return (hostname, options, callback) => {
    dns.lookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, '', 0);
      const all = addresses as dns.LookupAddress[];
      const refused = all.map((a) => addressRefusal(list, a.address)).find(Boolean);
      if (refused) return callback(Object.assign(new Error(`Refused to connect to ${hostname}: ${refused}`), { code: 'TWL_BROWSE_REFUSED' }), '', 0);
      if (options.all) return (callback as unknown as (e: null, a: dns.LookupAddress[]) => void)(null, all);
      return callback(null, all[0]!.address, all[0]!.family);
    });
  };
}

export interface Fetched {
  status: number;
  statusText: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  truncated: boolean;
  timings: Omit<Timings, 'totalMs'>;
  tls: BrowseResult['tls'];
}

/** One GET through the guarded lookup (no redirects followed); `headers` adds to the defaults (conditional requests of the docs crawler). */
export function fetchOnce(url: URL, policy: Config['browser'], denied: net.BlockList, signal: AbortSignal, headers: Record<string, string> = {}): Promise<Fetched> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const at = () => Math.round((performance.now() - started) * 10) / 10;
    const timings: Fetched['timings'] = { dnsMs: null, connectMs: null, tlsMs: null, firstByteMs: null };
    let tls: BrowseResult['tls'] = null;
    const client = url.protocol === 'https:' ? https : http;
    const req = client.request(url, { method: 'GET', headers: { 'user-agent': 'twl-browser/0.1 (+https://github.com/twisterlab)', accept: 'text/html,application/json;q=0.9,*/*;q=0.8', ...headers }, signal, agent: false, lookup: guardedLookup(denied) }, (res) => {
      timings.firstByteMs = at();
      const chunks: Buffer[] = [];
      let size = 0;
      let truncated = false;
      res.on('data', (chunk: Buffer) => {
        if (truncated) return;
        size += chunk.length;
        if (size > policy.maxBytes) {
          truncated = true;
          chunks.push(chunk.subarray(0, chunk.length - (size - policy.maxBytes)));
          res.destroy();
          return finish();
        }
        chunks.push(chunk);
      });
      const finish = () => resolve({ status: res.statusCode ?? 0, statusText: res.statusMessage ?? '', headers: res.headers, body: Buffer.concat(chunks), truncated, timings, tls });
      res.on('end', finish);
      res.on('error', (err) => (truncated ? finish() : reject(err)));
    });
    req.on('socket', (socket) => {
      socket.on('lookup', () => (timings.dnsMs = at()));
      socket.on('connect', () => (timings.connectMs = at()));
      socket.on('secureConnect', () => {
        timings.tlsMs = at();
        const cert = (socket as TLSSocket).getPeerCertificate();
        if (cert && cert.valid_to) {
          const validTo = new Date(cert.valid_to);
          const name = (n: Record<string, string | string[]> | undefined) => (n ? String(n.O ?? n.CN ?? JSON.stringify(n)) : '');
          tls = {
            subject: String(cert.subject?.CN ?? ''),
            issuer: name(cert.issuer as unknown as Record<string, string>),
            validFrom: new Date(cert.valid_from).toISOString(),
            validTo: validTo.toISOString(),
            daysLeft: Math.floor((validTo.getTime() - Date.now()) / 86_400_000),
            protocol: (socket as TLSSocket).getProtocol(),
          };
        }
      });
    });
    req.on('error', reject);
    req.end();
  });
}

const blocks = new Set(['ADDRESS', 'ARTICLE', 'ASIDE', 'BLOCKQUOTE', 'BR', 'DD', 'DETAILS', 'DIV', 'DL', 'DT', 'FIELDSET', 'FIGCAPTION', 'FIGURE', 'FOOTER', 'FORM', 'H1', 'H2', 'H3', 'H4', 'H5', 'H6', 'HEADER', 'HR', 'LI', 'MAIN', 'NAV', 'OL', 'P', 'PRE', 'SECTION', 'SUMMARY', 'TABLE', 'TD', 'TH', 'TR', 'UL']);

interface TextNode {
  nodeType: number;
  nodeName: string;
  textContent: string | null;
  childNodes: ArrayLike<TextNode>;
}

/** The text of a DOM node with each block element on its own line (textContent glues paragraphs together). */
function blockText(node: TextNode): string {
  const parts: string[] = [];
  const walk = (n: TextNode) => {
    if (n.nodeType === 3) return void parts.push((n.textContent ?? '').replace(/\s+/g, ' '));
    if (n.nodeType !== 1 && n.nodeType !== 9 && n.nodeType !== 11) return;
    if (['SCRIPT', 'STYLE', 'NOSCRIPT', 'TEMPLATE'].includes(n.nodeName)) return;
    const block = blocks.has(n.nodeName);
    if (block) parts.push('\n');
    for (const child of Array.from(n.childNodes)) walk(child);
    if (block) parts.push('\n');
  };
  walk(node);
  return parts
    .join('')
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .join('\n');
}

/** Readable text of an HTML page (Mozilla Readability over a linkedom DOM), a line per block, with its main heading. */
export async function pageText(html: string, url: string): Promise<{ title: string | null; text: string | null }> {
  const [{ Readability }, { parseHTML }] = await Promise.all([import('@mozilla/readability'), import('linkedom')]);
  const { document } = parseHTML(html);
  const title = document.querySelector('title')?.textContent?.trim() || null;
  // Readability drops a heading that repeats the title; the page's <h1> is kept here.
  const heading = document.querySelector('h1')?.textContent?.replace(/\s+/g, ' ').trim() || null;
  const cap = (text: string | null) => (text ? text.slice(0, 50_000) : null);
  const withHeading = (text: string) => (heading && !text.startsWith(heading) ? `${heading}\n${text}` : text);
  try {
    Object.defineProperty(document, 'baseURI', { value: url });
    const article = new Readability(document as unknown as ConstructorParameters<typeof Readability>[0]).parse();
    const content = article?.content ? blockText(parseHTML(`<!doctype html><html><body>${article.content}</body></html>`).document.body as unknown as TextNode) : '';
    if (content) return { title: article?.title?.trim() || title, text: cap(withHeading(content)) };
  } catch {
    // not an article: the whole body below
  }
  const whole = parseHTML(html).document;
  const root = (whole.body?.childNodes.length ? whole.body : whole.documentElement) as unknown as TextNode | null;
  return { title, text: cap(root ? blockText(root) || null : null) };
}

/** GETs a URL within the browser policy, following up to 10 redirects, each hop checked against the policy too. */
export async function browse(policy: Config['browser'], raw: string, signal: AbortSignal, withText = true): Promise<BrowseResult> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new TwlError('TWL_INPUT_INVALID', `"${raw}" is not a URL: expected http://… or https://….`);
  }
  const started = performance.now();
  const timeout = AbortSignal.any([AbortSignal.timeout(policy.timeout), signal]);
  const redirects: Hop[] = [];
  const denied = deniedNetworks(policy);
  for (let hop = 0; ; hop++) {
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TwlError('TWL_BROWSE_REFUSED', `Only http and https are browsed, not ${url.protocol}`);
    const check = hostAllowed(policy, url.hostname);
    if (!check.allowed) throw new TwlError('TWL_BROWSE_REFUSED', `Refused to browse ${url.href}: ${check.why}.`);
    // An address written in the URL is never looked up: check it here (names are checked as they resolve).
    const literal = url.hostname.replace(/^\[|\]$/g, '');
    const refusal = net.isIP(literal) ? addressRefusal(denied, literal) : undefined;
    if (refusal) throw new TwlError('TWL_BROWSE_REFUSED', `Refused to browse ${url.href}: ${refusal}.`, { actions: ['Change browser.denyNetworks if this address is really meant to be browsed.'] });
    let res: Fetched;
    try {
      res = await fetchOnce(url, policy, denied, timeout);
    } catch (err) {
      if ((err as { code?: unknown }).code === 'TWL_BROWSE_REFUSED') throw new TwlError('TWL_BROWSE_REFUSED', `Refused to browse ${url.href}: ${messageOf(err)}.`, { cause: err, actions: ['Change browser.denyNetworks if this address is really meant to be browsed.'] });
      const why = timeout.aborted && !signal.aborted ? `no complete answer within ${policy.timeout} ms` : messageOf(err);
      throw new TwlError('TWL_BROWSE_FAILED', `Could not fetch ${url.href}: ${why}`, { cause: err });
    }
    const location = res.headers.location ?? null;
    if (res.status >= 300 && res.status < 400 && location) {
      redirects.push({ url: url.href, status: res.status, location });
      if (hop >= 10) throw new TwlError('TWL_BROWSE_FAILED', `More than 10 redirects from ${raw}.`);
      url = new URL(location, url);
      continue;
    }
    const contentType = (res.headers['content-type'] as string | undefined) ?? null;
    const body = res.body.toString('utf8');
    const isHtml = contentType?.includes('html') ?? /^\s*</.test(body);
    const { title, text } = withText && isHtml ? await pageText(body, url.href) : { title: null, text: withText && contentType?.startsWith('text/') ? body.slice(0, 50_000) : null };
    return {
      url: raw,
      finalUrl: url.href,
      status: res.status,
      statusText: res.statusText,
      redirects,
      timings: { ...res.timings, totalMs: Math.round((performance.now() - started) * 10) / 10 },
      tls: res.tls,
      headers: Object.fromEntries(Object.entries(res.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : String(v)])),
      contentType,
      sizeBytes: res.body.length,
      truncated: res.truncated,
      title,
      text,
    };
  }
}
