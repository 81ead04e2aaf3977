import type http from 'node:http';

/**
 * Strict readings of the request headers the HTTP face decides on: Host and Origin (DNS
 * rebinding), Accept (JSON or SSE answers). Nothing here goes through `new URL()`, which
 * would turn `evil.com@127.0.0.1`, `2130706433` or `0x7f.1` into 127.0.0.1.
 */

const label = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
/** A host (a DNS name or a dotted IPv4 address, no trailing dot; or an IPv6 address in brackets), then an optional port. */
const hostPort = new RegExp(`^(?:\\[([0-9a-f:.]{2,45})\\]|(${label}(?:\\.${label})*))(?::(\\d{1,5}))?$`, 'i');

/**
 * The host name of a Host header value (`name[:port]`, `[v6][:port]`), lower-cased and without
 * brackets, or undefined when the value is not exactly that (userinfo, paths, whitespace, a port
 * out of 1–65535, a trailing dot, percent-encoding…).
 */
export function parseHost(value: string | undefined): string | undefined {
  if (!value || value.length > 261) return undefined;
  const m = hostPort.exec(value);
  if (!m) return undefined;
  if (m[3] !== undefined && !(Number(m[3]) >= 1 && Number(m[3]) <= 65_535)) return undefined;
  return (m[1] ?? m[2]!).toLowerCase();
}

/** The host name of an Origin header (`http://host[:port]` or `https://…`, nothing after), or undefined. */
export function parseOrigin(value: string): string | undefined {
  const m = /^(https?):\/\/([^/?#]*)$/i.exec(value);
  return m ? parseHost(m[2]) : undefined;
}

/** How many Host header lines the request carried (Node keeps only the first). */
export const hostHeaderCount = (req: http.IncomingMessage): number => {
  let n = 0;
  for (let i = 0; i < req.rawHeaders.length; i += 2) if (req.rawHeaders[i]!.toLowerCase() === 'host') n++;
  return n;
};

interface MediaRange {
  type: string;
  subtype: string;
}

/** The media ranges of an Accept header with a weight above 0. */
function mediaRanges(accept: string): MediaRange[] {
  const ranges: MediaRange[] = [];
  for (const part of accept.split(',')) {
    const [range, ...params] = part.split(';').map((s) => s.trim().toLowerCase());
    const [type, subtype] = (range ?? '').split('/');
    if (!type || !subtype) continue;
    const q = params.find((p) => p.startsWith('q='));
    if (q && !(Number(q.slice(2)) > 0)) continue;
    ranges.push({ type, subtype });
  }
  return ranges;
}

const admits = (ranges: MediaRange[], type: string, subtype: string) =>
  ranges.some((r) => (r.type === '*' && r.subtype === '*') || (r.type === type && (r.subtype === '*' || r.subtype === subtype)));

export interface Acceptance {
  /** application/json is acceptable (`*\/*`, `application/*`, `application/json`, or no Accept header at all). */
  json: boolean;
  /** text/event-stream is acceptable. */
  sse: boolean;
  /** text/event-stream is named outright, as MCP clients do: only then may a POST be answered with a stream. */
  sseNamed: boolean;
}

/** What an Accept header admits. Without one, anything is acceptable, and JSON is the answer. */
export function acceptance(accept: string | undefined): Acceptance {
  if (accept === undefined || !accept.trim()) return { json: true, sse: true, sseNamed: false };
  const ranges = mediaRanges(accept);
  return { json: admits(ranges, 'application', 'json'), sse: admits(ranges, 'text', 'event-stream'), sseNamed: ranges.some((r) => r.type === 'text' && r.subtype === 'event-stream') };
}

/** A high surrogate not followed by a low one, or a low one not preceded by a high one (UTF-16 code units). */
const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * What a parsed JSON value looks like from the wire's point of view, walked without recursion:
 * how deep arrays and objects nest (counted up to `limit + 1`), and whether a string or a key
 * holds a lone UTF-16 surrogate (`"\ud83d"`), which no UTF-8 text can carry.
 */
export function jsonShape(value: unknown, limit: number): { depth: number; loneSurrogate: boolean } {
  let depth = 0;
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length) {
    const [item, level] = stack.pop()!;
    if (typeof item === 'string') {
      if (loneSurrogate.test(item)) return { depth, loneSurrogate: true };
      continue;
    }
    if (item === null || typeof item !== 'object') continue;
    if (level > depth) depth = level;
    if (depth > limit) return { depth, loneSurrogate: false };
    if (Array.isArray(item)) for (const child of item) stack.push([child, level + 1]);
    else
      for (const [key, child] of Object.entries(item)) {
        if (loneSurrogate.test(key)) return { depth, loneSurrogate: true };
        stack.push([child, level + 1]);
      }
  }
  return { depth, loneSurrogate: false };
}
