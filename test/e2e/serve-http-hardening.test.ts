import { execa } from 'execa';
import { readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { envelope, root, startHttpServe, tempHome, twl } from '../helpers.js';

/** The seed's curl examples for /mcp (seed 000, "Utilisation du Protocole MCP", kept verbatim in a fixture), verbatim but for the address. */
function seedCurlExamples(): string[][] {
  const text = readFileSync(path.join(root, 'test', 'fixtures', 'seed-000-mcp-curl.md'), 'utf8');
  const blocks = [...text.matchAll(/```bash\n([\s\S]*?)```/g)].map((m) => m[1]!);
  const commands = blocks.flatMap((b) => b.split(/\n(?=curl )/).map((c) => c.replace(/^#.*$/gm, '').trim())).filter((c) => c.startsWith('curl -X POST') && c.includes('/mcp'));
  // Each command, split into arguments as a shell would (only '…' and "…" quoting appears in them).
  return commands.map((c) => [...c.replace(/\\\n/g, ' ').matchAll(/'([^']*)'|"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3]!).slice(1));
}

/** One raw HTTP/1.1 exchange, so headers go out exactly as written: resolves with the status code (0 when the server closed without one). */
function rawStatus(port: number, head: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(head));
    let data = '';
    socket.on('data', (d) => (data += d.toString('latin1')));
    socket.on('close', () => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(data)?.[1] ?? 0)));
    socket.on('error', reject);
    socket.setTimeout(10_000, () => socket.destroy());
  });
}

describe('twl serve --http, hardened', () => {
  let home: string;
  let cleanup: () => void;
  let server: Awaited<ReturnType<typeof startHttpServe>>;
  let port: number;
  let admin: string;

  beforeAll(async () => {
    ({ home, cleanup } = tempHome('twl-http-hard-'));
    writeFileSync(path.join(home, '.twlrc.json'), JSON.stringify({ http: { timeouts: { headers: 2, request: 4, sessionIdle: 2 } } }));
    server = await startHttpServe(home);
    port = Number(new URL(server.url).port);
    // Made while serve hosts the store, which the CLI then shares.
    admin = String((envelope((await twl(['keys', 'create', '--role', 'admin', '--json'], { home })).stdout).result as { key: string }).key);
  });
  afterAll(async () => {
    server?.child.kill('SIGTERM');
    await server?.child;
    cleanup?.();
  });

  const auth = () => ({ authorization: `Bearer ${admin}` });

  it("answers the seed's curl examples (Accept: */*) with JSON", async () => {
    const examples = seedCurlExamples();
    expect(examples.length).toBeGreaterThanOrEqual(3);
    const methods = new Set<string>();
    for (const args of examples) {
      const address = args.findIndex((a) => a.startsWith('http://'));
      args[address] = `${server.url}/mcp`;
      const run = await execa('curl', ['-sS', '-w', '\n%{http_code} %{content_type}', ...args, '-H', `Authorization: Bearer ${admin}`], { reject: false });
      const [body, status] = [run.stdout.slice(0, run.stdout.lastIndexOf('\n')), run.stdout.slice(run.stdout.lastIndexOf('\n') + 1)];
      expect(status, body).toMatch(/^200 application\/json/);
      const answer = JSON.parse(body) as { id: number; result?: { tools?: unknown[]; isError?: boolean; structuredContent?: unknown }; error?: unknown };
      expect(answer.error, body).toBeUndefined();
      const sent = JSON.parse(args[args.indexOf('-d') + 1]!) as { method: string };
      methods.add(sent.method);
      if (sent.method === 'tools/list') expect(answer.result!.tools!.length).toBeGreaterThan(20);
      else {
        expect(answer.result, body).toMatchObject({ structuredContent: expect.any(Object) });
        expect(answer.result!.isError ?? false, body).toBe(false);
      }
    }
    expect([...methods].sort()).toEqual(['tools/call', 'tools/list']);
  });

  it('answers JSON when Accept admits it (none, */*, application/*), refuses what admits neither', async () => {
    const body = JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'tools/list' });
    for (const accept of [undefined, '*/*', 'application/*', 'application/json', 'text/html, */*;q=0.1']) {
      const res = await fetch(`${server.url}/mcp`, { method: 'POST', body, headers: { 'content-type': 'application/json', ...auth(), ...(accept === undefined ? {} : { accept }) } });
      expect(res.status, String(accept)).toBe(200);
      expect(res.headers.get('content-type'), String(accept)).toMatch(/^application\/json/);
      expect(((await res.json()) as { id: number }).id).toBe(3);
    }
    const refused = await fetch(`${server.url}/mcp`, { method: 'POST', body, headers: { 'content-type': 'application/json', accept: 'text/html', ...auth() } });
    expect(refused.status).toBe(406);
  });

  it('answers a malformed percent-encoding and a deeply nested argument with 400, over REST and MCP', async () => {
    const bad = await fetch(`${server.url}/api/tools/%E0%A4%A`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json', ...auth() } });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(await bad.json())).toMatch(/percent-encoding/);
    const deep = '['.repeat(100_000) + ']'.repeat(100_000);
    const rest = await fetch(`${server.url}/api/tools/cache_cache_set`, { method: 'POST', body: `{"key":"deep","value":${deep}}`, headers: { 'content-type': 'application/json', ...auth() } });
    expect(rest.status).toBe(400);
    const mcp = await fetch(`${server.url}/mcp`, {
      method: 'POST',
      body: `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"cache_cache_set","arguments":{"key":"deep","value":${deep}}}}`,
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...auth() },
    });
    expect(mcp.status).toBe(400);
    expect(await mcp.json()).toMatchObject({ error: { code: -32600 } });
    // Found by the fuzzer: a NUL byte PostgreSQL refuses (SQLSTATE 22021) is the input's fault.
    const nul = await fetch(`${server.url}/api/tools/cache_cache_get`, { method: 'POST', body: JSON.stringify({ key: '\u0000' }), headers: { 'content-type': 'application/json', ...auth() } });
    expect(nul.status).toBe(400);
    // Also found by the fuzzer: a lone surrogate escape, which Docker's URL encoding choked on (500).
    const surrogate = await fetch(`${server.url}/api/tools/monitoring_get_container_logs`, { method: 'POST', body: '{"container":"web\\ud83d"}', headers: { 'content-type': 'application/json', ...auth() } });
    expect(surrogate.status).toBe(400);
    expect((await fetch(`${server.url}/health/live`)).status).toBe(200);
  });

  it('parses Host strictly: a hostile corpus is refused, loopback names with a port pass', async () => {
    const get = (host: string) => `GET /health/live HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`;
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, `LocalHost:${port}`, '127.0.0.1']) expect(await rawStatus(port, get(host)), host).toBe(200);
    const hostile = [
      'evil.com@127.0.0.1', `evil.com@127.0.0.1:${port}`, 'user:pw@localhost', '127.0.0.1@evil.com', 'localhost:80@evil.com', 'evil.com#@127.0.0.1', 'evil.com\\@127.0.0.1',
      '127.0.0.1:0', '127.0.0.1:65536', '127.0.0.1:99999999', '127.0.0.1:-1', '127.0.0.1:', '127.0.0.1:80:80', '127.0.0.1:8O',
      'localhost.', '127.0.0.1.', 'localhost..', '.localhost',
      '::1', '[::1', '::1]', '[0:0:0:0:0:0:0:1]', '[::ffff:127.0.0.1]', '[::ffff:7f00:1]', '[::1%25eth0]', '[fe80::1]',
      '2130706433', '0x7f000001', '0x7f.0.0.1', '0177.0.0.1', '127.1', '127.0.1', '0', '0.0.0.0', '127.000.000.001',
      '127.0.0.1 evil.com', '127.0.0.1\tevil.com', 'evil.com 127.0.0.1', '127.0.0.1/evil', '127.0.0.1?x', '127.0.0.1#x', '%31%32%37.0.0.1', 'localhost%00', 'localhost%2e',
      'evil.com', 'localhost.evil.com', '127.0.0.1.nip.io', 'xn--localhost', '',
    ];
    for (const host of hostile) expect([400, 403], JSON.stringify(host)).toContain(await rawStatus(port, get(host)));
    // Two Host headers, one of them loopback, and an absolute-form target naming another host.
    expect([400, 403]).toContain(await rawStatus(port, `GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\nHost: evil.com\r\nConnection: close\r\n\r\n`));
    expect([400, 403]).toContain(await rawStatus(port, `GET /health/live HTTP/1.1\r\nHost: evil.com\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`));
    expect([400, 403]).toContain(await rawStatus(port, `GET http://evil.com/health/live HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`));
  });

  it('parses Origin strictly', async () => {
    const withOrigin = (origin: string) => `GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: ${origin}\r\nConnection: close\r\n\r\n`;
    for (const origin of [`http://127.0.0.1:${port}`, `http://localhost:${port}`, `http://[::1]:${port}`, 'https://localhost']) expect(await rawStatus(port, withOrigin(origin)), origin).toBe(200);
    const hostile = ['null', 'http://evil.com', 'http://evil.com@127.0.0.1', 'http://127.0.0.1@evil.com', 'http://2130706433', 'http://0x7f.1', 'http://127.0.0.1.', 'http://127.0.0.1/path', 'http://127.0.0.1:99999', 'file://localhost', 'ws://localhost', 'localhost', '//localhost', 'http://localhost.evil.com', 'HTTP://EVIL.COM', 'http://[::ffff:127.0.0.1]', ''];
    for (const origin of hostile) expect(await rawStatus(port, withOrigin(origin)), JSON.stringify(origin)).toBe(403);
  });

  /** Resolves when the server closes the socket (true), or false after `ms`, writing `trickle` every 200 ms meanwhile. */
  const closedByServer = (socket: net.Socket, ms: number, trickle?: string) =>
    new Promise<boolean>((resolve) => {
      const drip = trickle ? setInterval(() => socket.writable && socket.write(trickle), 200) : undefined;
      const give = setTimeout(() => (clearInterval(drip), socket.destroy(), resolve(false)), ms);
      socket.on('close', () => (clearInterval(drip), clearTimeout(give), resolve(true)));
      socket.on('error', () => undefined);
    });

  it('hangs up on a refused request whose body trickles in, and on headers that never end', async () => {
    const refused = net.connect(port, '127.0.0.1');
    let answer = '';
    refused.on('data', (d) => (answer += d.toString()));
    refused.write('POST /api/tools/cache_cache_get HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n{"key":');
    // Well under http.timeouts.request (4 s here): the 401 itself ends the connection.
    expect(await closedByServer(refused, 3000, ' ')).toBe(true);
    expect(answer).toMatch(/^HTTP\/1\.1 401/);
    const slowHeaders = net.connect(port, '127.0.0.1');
    slowHeaders.write('GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    expect(await closedByServer(slowHeaders, 15_000, 'X-Slow: 1\r\n')).toBe(true);
  });

  it('answers 408 and hangs up on an authenticated request whose body trickles in past http.timeouts.request, and closes an idle keep-alive connection', async () => {
    const slowBody = net.connect(port, '127.0.0.1');
    let answer = '';
    slowBody.on('data', (d) => (answer += d.toString()));
    slowBody.write(`POST /api/tools/cache_cache_get HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${admin}\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n{"key":`);
    // A byte every 200 ms keeps no timer but the request's own (4 s here) from firing.
    expect(await closedByServer(slowBody, 20_000, ' ')).toBe(true);
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
    // An answered keep-alive connection left idle is closed (http.timeouts.keepAlive, 5 s by default).
    const idle = net.connect(port, '127.0.0.1');
    let first = '';
    idle.on('data', (d) => (first += d.toString()));
    idle.write('GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n');
    expect(await closedByServer(idle, 20_000)).toBe(true);
    expect(first).toMatch(/^HTTP\/1\.1 200/);
  });

  it('expires an idle MCP session (http.timeouts.sessionIdle)', async () => {
    const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...auth() };
    const init = await fetch(`${server.url}/mcp`, { method: 'POST', headers, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'idle', version: '1' } } }) });
    const session = init.headers.get('mcp-session-id')!;
    await init.text();
    expect(session).toBeTruthy();
    const ping = () => fetch(`${server.url}/mcp`, { method: 'POST', headers: { ...headers, 'mcp-session-id': session, 'mcp-protocol-version': '2025-06-18' }, body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'ping' }) });
    const alive = await ping();
    expect(alive.status).toBe(200);
    await alive.text();
    await expect.poll(async () => (await ping()).status, { timeout: 20_000, interval: 3_000 }).toBe(404);
  });
});
