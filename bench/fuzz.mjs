// A fuzzer for the HTTP face of `twl serve --http`: random and malformed JSON-RPC on /mcp, and
// arguments shaped by each tool's JSON Schema (from GET /api/tools), mutated, over MCP and REST.
// A finding is a 500 (or any 5xx but 503/504, which mean a dependency is down or slow), a stack
// trace in a body, or the server not answering any more. Seeded: the same seed sends the same
// requests. Used by `npm run bench -- fuzz` and by test/e2e/fuzz-http.test.ts.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** A small, fast, seedable PRNG (mulberry32). */
export function prng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (lo, hi) => lo + Math.floor(next() * (hi - lo + 1));
  const pick = (xs) => xs[Math.floor(next() * xs.length)];
  return { next, int, pick, chance: (p) => next() < p };
}

/** Built-in read-only programs of the commander and common ones: all denied in the fuzz configuration. */
const deniedPrograms = ['uptime', 'hostname', 'whoami', 'id', 'date', 'uname', 'nproc', 'lscpu', 'lsblk', 'free', 'df', 'w', 'who', 'last', 'pwd', 'ps', 'ss', 'netstat', 'ip', 'ping', 'dig', 'nslookup', 'host', 'systemctl', 'journalctl', 'docker', 'kubectl', 'sh', 'bash', 'rm', 'curl', 'wget', 'node', 'npm', 'git'];

/**
 * The configuration a fuzzed server runs with: no command can run (every rule and the default
 * deny), the browser reaches loopback only, backups stay in the data directory, no Redis, no LLM.
 */
export const fuzzConfig = (dataDir) => ({
  commander: { default: 'deny', rules: deniedPrograms.map((program) => ({ program, decision: 'deny', reason: 'fuzzing: no command runs' })) },
  browser: { allow: ['127.0.0.1', 'localhost'], deny: [] },
  backup: { dir: path.join(dataDir, 'fuzz-backups') },
  http: { rateLimit: { ip: { capacity: 100000, refillPerMinute: 100000 }, key: { capacity: 100000, refillPerMinute: 100000 } } },
});

/** Arguments pinned whatever the schema allows: nothing that reaches the network or the host's files at large. */
const pinned = { 'code-review_security_scan': { audit: false }, 'browser_browse': { screenshot: false } };

const weirdStrings = ['', ' ', '\u0000', '\ud800', '💥'.repeat(50), 'a'.repeat(5000), '../../../../etc/passwd', '%E0%A4%A', '${jndi:ldap://127.0.0.1/x}', "'; DROP TABLE twl_tickets; --", '<script>alert(1)</script>', 'null', 'undefined', '-1', '1e309', 'NaN', '__proto__', 'constructor', '\r\n\r\nHTTP/1.1 200 OK', '*', '[', '\\', 'http://127.0.0.1:1/', 'http://169.254.169.254/latest/meta-data/'];
const weirdNumbers = [0, -0, -1, 1, 0.5, -0.5, 2 ** 31, -(2 ** 31), 2 ** 53, Number.MAX_SAFE_INTEGER + 2, 1e308, -1e308, 5e-324];

function randomString(r, schema = {}) {
  if (r.chance(0.25)) return r.pick(weirdStrings);
  if (schema.format === 'uri' || /url/i.test(schema.description ?? '')) return r.pick(['http://127.0.0.1:1/', 'http://localhost:9/x', 'https://127.0.0.1:1/', 'ftp://127.0.0.1/', 'not a url', 'http://[::1]:1/']);
  const min = schema.minLength ?? 0;
  const max = Math.min(schema.maxLength ?? 40, min + 60);
  const n = r.int(min, Math.max(min, max));
  const alphabet = r.pick(['abcdefghijklmnopqrstuvwxyz', 'ABC xyz 0123456789-_.', 'ñéü漢字🙂\t\n"\\', 'SELECT * FROM ;,()\'"']);
  let s = '';
  for (let i = 0; i < n; i++) s += alphabet[r.int(0, alphabet.length - 1)];
  return s;
}

function randomNumber(r, schema, integer) {
  if (r.chance(0.2)) return r.pick(weirdNumbers);
  const lo = schema.minimum ?? schema.exclusiveMinimum ?? -1000;
  const hi = schema.maximum ?? schema.exclusiveMaximum ?? 1000;
  const x = lo + r.next() * (Math.min(hi, lo + 1e6) - lo);
  return integer ? Math.round(x) : x;
}

/** Any JSON value, up to a depth. */
export function randomJson(r, depth = 3) {
  const kind = r.int(0, depth > 0 ? 7 : 4);
  if (kind === 0) return null;
  if (kind === 1) return r.chance(0.5);
  if (kind === 2) return r.pick(weirdNumbers);
  if (kind === 3 || kind === 4) return randomString(r);
  if (kind === 5) return Array.from({ length: r.int(0, 4) }, () => randomJson(r, depth - 1));
  const o = {};
  for (let i = r.int(0, 4); i > 0; i--) o[randomString(r, { maxLength: 12 })] = randomJson(r, depth - 1);
  return o;
}

/** A value for a JSON Schema: valid most of the time, near the edges often, wrong sometimes. */
export function fromSchema(r, schema, depth = 0) {
  if (!schema || typeof schema !== 'object' || depth > 6) return randomJson(r, 1);
  if (r.chance(0.05)) return randomJson(r, 2);
  if (schema.const !== undefined) return schema.const;
  if (Array.isArray(schema.enum)) return r.chance(0.9) ? r.pick(schema.enum) : randomString(r);
  const alternatives = schema.anyOf ?? schema.oneOf;
  if (Array.isArray(alternatives)) return fromSchema(r, r.pick(alternatives), depth + 1);
  if (Array.isArray(schema.allOf)) return fromSchema(r, schema.allOf[0], depth + 1);
  const type = Array.isArray(schema.type) ? r.pick(schema.type) : schema.type ?? (schema.properties ? 'object' : undefined);
  switch (type) {
    case 'string':
      return randomString(r, schema);
    case 'integer':
      return randomNumber(r, schema, true);
    case 'number':
      return randomNumber(r, schema, false);
    case 'boolean':
      return r.chance(0.5);
    case 'null':
      return null;
    case 'array': {
      const n = r.int(schema.minItems ?? 0, Math.min(schema.maxItems ?? 5, (schema.minItems ?? 0) + 5));
      return Array.from({ length: n }, () => fromSchema(r, schema.items, depth + 1));
    }
    case 'object': {
      const out = {};
      const required = new Set(schema.required ?? []);
      for (const [name, sub] of Object.entries(schema.properties ?? {})) if (required.has(name) ? r.chance(0.95) : r.chance(0.6)) out[name] = fromSchema(r, sub, depth + 1);
      if (r.chance(0.1)) out[randomString(r, { maxLength: 10 })] = randomJson(r, 1);
      return out;
    }
    default:
      return randomJson(r, 2);
  }
}

const methods = ['initialize', 'ping', 'tools/list', 'tools/call', 'resources/list', 'resources/read', 'resources/templates/list', 'resources/subscribe', 'prompts/list', 'prompts/get', 'completion/complete', 'logging/setLevel', 'server/discover', 'subscriptions/listen', 'notifications/initialized', 'notifications/cancelled', 'sampling/createMessage', '', 'rpc.discover', '__proto__', 'tools/call/../list'];

/** One random or malformed /mcp body (a string, sent as is). */
function jsonRpcBody(r, tools) {
  const id = r.pick([1, 0, -1, 'x', null, 1.5, { a: 1 }, [1], 2 ** 60, '', undefined]);
  const method = r.pick(methods);
  const params = r.pick([
    undefined,
    null,
    [],
    'params',
    randomJson(r, 2),
    { name: r.pick([...tools.map((t) => t.name), randomString(r)]), arguments: r.chance(0.7) ? randomJson(r, 3) : r.pick([null, [], 'x', 1]) },
    { uri: r.pick(['twl://tickets', 'twl://tickets/1', 'twl://tickets/-1', 'twl://audit', 'file:///etc/passwd', randomString(r)]) },
    { name: r.pick(['triage_ticket', 'summarise_incident', 'post_mortem', randomString(r)]), arguments: randomJson(r, 2) },
    { level: r.pick(['debug', 'info', 'emergency', 'nope', 3]) },
    { protocolVersion: r.pick(['2025-06-18', '2025-03-26', '2026-07-28', '1999-01-01', 7]), capabilities: randomJson(r, 2), clientInfo: randomJson(r, 1) },
    { _meta: randomJson(r, 2) },
  ]);
  const message = { jsonrpc: r.pick(['2.0', '2.0', '2.0', '1.0', 2, undefined]), ...(id === undefined ? {} : { id }), method, ...(params === undefined ? {} : { params }) };
  const shape = r.int(0, 9);
  if (shape === 0) return JSON.stringify(message).slice(0, r.int(0, 40));
  if (shape === 1) return r.pick(['', 'null', '[]', '{}', '"x"', '1', 'true', '[[]]', '{"jsonrpc":"2.0"', '\u0000', '{"jsonrpc":"2.0","id":1,"method":"ping"}{}', '[' + '{"jsonrpc":"2.0","method":"ping"},'.repeat(150) + '1]']);
  if (shape === 2) return JSON.stringify(Array.from({ length: r.int(1, 5) }, () => ({ ...message, id: r.int(1, 9) })));
  if (shape === 3) return '['.repeat(r.int(10, 5000)) + ']'.repeat(r.int(0, 5000));
  return JSON.stringify(message);
}

/** Whether a body shows the server's insides. */
export const stackTrace = (text) => /\n\s+at [\w$.<>]+ \(|\n\s+at (file|node):|node:internal\/|\/(src|dist)\/[\w/.-]+\.[jt]s:\d+/.test(text);

const headersFor = (r, key, extra = {}) => ({
  'content-type': r.chance(0.95) ? 'application/json' : r.pick(['text/plain', 'application/x-www-form-urlencoded', '']),
  ...(r.chance(0.97) ? { accept: r.pick(['application/json, text/event-stream', 'application/json', '*/*', 'text/event-stream', 'text/html']) } : {}),
  ...(key ? { authorization: `Bearer ${key}` } : {}),
  ...extra,
});

/**
 * Sends requests for `durationMs` (or `maxRequests`) and returns what it found. `log(line)` hears
 * each finding as it happens.
 */
export async function fuzz({ url, key, seed, durationMs, maxRequests = Infinity, concurrency = 4, log = () => {} }) {
  const tools = ((await (await fetch(`${url}/api/tools`, { headers: key ? { authorization: `Bearer ${key}` } : {} })).json()).tools ?? []);
  const findings = [];
  const statuses = {};
  let requests = 0;
  let internalErrors = 0;
  const started = Date.now();
  const note = (kind, request, detail) => {
    const finding = { kind, request, detail: String(detail).slice(0, 2000) };
    findings.push(finding);
    log(`${kind}: ${JSON.stringify(request).slice(0, 400)} → ${finding.detail.slice(0, 400)}`);
  };
  const send = async (request) => {
    requests++;
    let res;
    let text;
    try {
      res = await fetch(`${url}${request.path}`, { method: request.method, headers: request.headers, body: request.body, signal: AbortSignal.timeout(60_000) });
      text = await res.text();
    } catch (err) {
      // A request fetch itself refuses to send (a header that is not Latin-1, a bad URL) never reached the server.
      if (err instanceof TypeError && !err.cause) return;
      // The server must still be there: a refused or reset connection is a crash.
      const alive = await fetch(`${url}/health/live`).then((x) => x.ok, () => false);
      if (!alive) note('crash', request, err.message);
      else if (!/timeout|aborted/i.test(err.message)) note('connection', request, `${err.message}: ${err.cause?.code ?? ''} ${err.cause?.message ?? ''}`);
      return;
    }
    statuses[res.status] = (statuses[res.status] ?? 0) + 1;
    if (res.status >= 500 && res.status !== 503 && res.status !== 504) note(`http ${res.status}`, request, text);
    if (stackTrace(text)) note('stack trace', request, text);
    // JSON-RPC internal errors (-32603) are counted, not failed: the SDK answers some invalid params with it.
    if (/"code":\s*-32603/.test(text)) internalErrors++;
  };
  // Each worker draws from its own stream (seed + its number), so a seed replays the same requests.
  const worker = async (r) => {
  while (Date.now() - started < durationMs && requests < maxRequests) {
    const kind = r.int(0, 9);
    if (kind <= 2) {
      await send({ path: '/mcp', method: 'POST', headers: headersFor(r, key), body: jsonRpcBody(r, tools) });
    } else if (kind <= 5 && tools.length) {
      const tool = r.pick(tools);
      const args = { ...fromSchema(r, tool.inputSchema), ...(pinned[tool.name] ?? {}) };
      await send({ path: '/mcp', method: 'POST', headers: headersFor(r, key), body: JSON.stringify({ jsonrpc: '2.0', id: r.int(1, 1e6), method: 'tools/call', params: { name: tool.name, arguments: args } }) });
    } else if (kind <= 8 && tools.length) {
      const tool = r.pick(tools);
      const args = { ...fromSchema(r, tool.inputSchema), ...(pinned[tool.name] ?? {}) };
      await send({ path: `/api/tools/${encodeURIComponent(tool.name)}`, method: 'POST', headers: headersFor(r, key), body: r.chance(0.9) ? JSON.stringify(args) : JSON.stringify(args).slice(0, r.int(0, 30)) });
    } else {
      const path = r.pick(['/api/tools/%', '/api/tools/%E0%A4%A', '/api/tools/%00', `/api/tools/${randomString(r, { maxLength: 20 })}`, '/api/tools/', '/api/tools/..%2f..%2fetc%2fpasswd', '/mcp?x=%', '/%', '/docs/%2e%2e', '/openapi.json', '/health', '/.well-known/oauth-protected-resource', '/metrics', '/mcp/status', '/' + 'a'.repeat(5000)]);
      const method = r.pick(['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD']);
      await send({ path, method, headers: headersFor(r, key, r.chance(0.3) ? { 'mcp-session-id': randomString(r, { maxLength: 40 }) } : {}), body: method === 'GET' || method === 'HEAD' ? undefined : randomString(r) });
    }
  }
  };
  await Promise.all(Array.from({ length: concurrency }, (_, i) => worker(prng(seed + i))));
  return { seed, requests, seconds: (Date.now() - started) / 1000, statuses, internalErrors, findings };
}

/** Writes findings where a person can read them all (the test prints only the first few). */
export function saveFindings(dir, result) {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `fuzz-${result.seed}.json`);
  writeFileSync(file, JSON.stringify(result, null, 2));
  return file;
}
