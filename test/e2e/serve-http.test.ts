import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { envelope, heldService, startHttpServe, tempHome, twl } from '../helpers.js';

/**
 * A raw HTTP/1.1 POST of `size` bytes, written in 64 KiB pieces 10 ms apart before reading anything;
 * resolves with what the server answered, and the error a write met, if one did.
 */
function writeWholeBodyThenRead(url: URL, target: string, size: number, headers: Record<string, string>): Promise<{ answer: string; writeError?: string }> {
  return new Promise((resolve) => {
    const socket = net.connect({ port: Number(url.port), host: url.hostname, allowHalfOpen: true });
    let writeError: string | undefined;
    let answer = '';
    socket.on('error', (err: NodeJS.ErrnoException) => (writeError ??= err.code ?? err.message));
    socket.on('close', () => resolve({ answer, writeError }));
    socket.pause();
    const head = Object.entries({ host: url.host, 'content-type': 'application/json', 'content-length': String(size), ...headers }).map(([k, v]) => `${k}: ${v}\r\n`);
    socket.write(`POST ${target} HTTP/1.1\r\n${head.join('')}\r\n`);
    const piece = Buffer.alloc(64 * 1024, 'x');
    const write = async () => {
      for (let sent = 0; sent < size && !socket.destroyed; sent += piece.length) {
        const chunk = piece.subarray(0, Math.min(piece.length, size - sent));
        if (!socket.write(chunk)) await new Promise((r) => (socket.once('drain', r), socket.once('close', r)));
        await new Promise((r) => setTimeout(r, 10));
      }
      // Only now read the answer, then hang up once the server has.
      socket.on('data', (d: Buffer) => (answer += d.toString('latin1')));
      socket.on('end', () => socket.end());
      socket.resume();
    };
    void write();
  });
}

describe('twl serve --http', () => {
  let home: string;
  let cleanup: () => void;
  let child: Awaited<ReturnType<typeof startHttpServe>>['child'];
  let base: string;
  let admin: string;
  let viewer: string;
  const key = async (role: string) => (envelope((await twl(['keys', 'create', '--role', role, '--name', `${role} test`, '--json'], { home })).stdout).result as { key: string }).key;

  beforeAll(async () => {
    ({ home, cleanup } = tempHome('twl-http-'));
    // A small bucket for requests without a key, so the test can reach it.
    writeFileSync(path.join(home, '.twlrc.json'), JSON.stringify({ http: { rateLimit: { ip: { capacity: 5, refillPerMinute: 5 } } } }));
    ({ child, url: base } = await startHttpServe(home));
    // Made while serve hosts the store, which the CLI then shares.
    admin = await key('admin');
    viewer = await key('viewer');
  });
  afterAll(async () => {
    child.kill('SIGTERM');
    await child;
    cleanup();
  });

  const auth = (k = admin) => ({ authorization: `Bearer ${k}` });
  const get = (path: string, k = admin) => fetch(`${base}${path}`, { headers: auth(k) });
  const post = (path: string, body: string, headers: Record<string, string> = {}, k = admin) =>
    fetch(`${base}${path}`, { method: 'POST', body, headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...auth(k), ...headers } });

  it('answers liveness, health with its dependencies, status and Prometheus metrics', async () => {
    expect(await (await fetch(`${base}/health/live`)).json()).toEqual({ status: 'ok' });
    const health = await get('/health');
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok', dependencies: [{ name: 'twl-store', status: 'ok' }, { name: 'twl-cache', status: 'ok' }] });
    const metrics = await (await get('/metrics')).text();
    expect(metrics).toMatch(/# TYPE agent_calls_total counter/);
    expect(metrics).toMatch(/http_request_duration_seconds_bucket\{.*route="\/health"/);
    // The seed's shape: bridge, sessions, queue, cache, performance; real figures.
    const status = (await (await get('/mcp/status')).json()) as Record<string, Record<string, unknown>>;
    expect(status).toMatchObject({
      bridge: { status: 'healthy', version: expect.any(String), uptime_seconds: expect.any(Number) },
      sessions: { active: expect.any(Number), total: expect.any(Number), by_status: { active: expect.any(Number), idle: expect.any(Number) } },
      queue: { pending: expect.any(Number), processing: expect.any(Number), by_priority: { urgent: expect.any(Number), high: expect.any(Number), medium: expect.any(Number), low: expect.any(Number) }, in_flight_requests: expect.any(Number) },
      cache: { size: expect.any(Number), evictions: 0 },
      performance: { requests_per_second: expect.any(Number), error_rate: expect.any(Number) },
      tools: expect.any(Number),
    });
    // The requests just made count; this one is in flight.
    expect(status.performance!.requests).toBeGreaterThanOrEqual(3);
    expect(status.queue!.in_flight_requests).toBe(1);
    expect(status.cache).toHaveProperty('hit_rate');
  });

  it('serves MCP sessions to the official client, and shares the store with CLI processes', async () => {
    const client = new Client({ name: 'http-test', version: '1' });
    const transport = new StreamableHTTPClientTransport(new URL(`${base}/mcp`), { requestInit: { headers: auth() } });
    await client.connect(transport);
    expect(transport.sessionId).toMatch(/^[0-9a-f-]{36}$/);
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toEqual(expect.arrayContaining(['cache_cache_set', 'real-resolver_resolve_ticket', 'monitoring_health_check']));
    await client.callTool({ name: 'cache_cache_set', arguments: { key: 'via-http', value: 'yes' } });
    expect(envelope((await twl(['cache', 'get', 'via-http', '--json'], { home })).stdout).result).toMatchObject({ value: 'yes' });
    expect(((await (await get('/mcp/status')).json()) as { sessions: { active: number } }).sessions.active).toBeGreaterThanOrEqual(1);
    const unknown = await client.callTool({ name: 'no_such_tool', arguments: {} }).catch((e: Error) => ({ isError: true, content: [{ type: 'text', text: e.message }] }));
    expect(unknown.isError).toBe(true);
    await transport.terminateSession();
    await client.close();
  });

  it('answers a request without a session statelessly', async () => {
    const res = await post('/mcp', JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/list' }));
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toContain('cache_cache_get');
  });

  it('gives JSON-RPC errors for malformed and invalid requests, never a crash', async () => {
    const malformed = await post('/mcp', '{"jsonrpc": "2.0", "id": 1, "method": ');
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toMatchObject({ error: { code: -32700 } });
    const invalid = await post('/mcp', JSON.stringify({ id: 1, method: 'tools/list' }));
    expect(await invalid.json()).toMatchObject({ error: { code: -32600 } });
    const stale = await post('/mcp', JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }), { 'mcp-session-id': 'not-a-session' });
    expect(stale.status).toBe(404);
    expect((await fetch(`${base}/health/live`)).status).toBe(200);
  });

  it('needs a key, shows a viewer only its tools, refuses the rest with 403, and rate-limits with 429', async () => {
    expect((await fetch(`${base}/health`)).status).toBe(401);
    expect((await fetch(`${base}/health`)).headers.get('www-authenticate')).toMatch(/Bearer/);
    expect((await get('/health', 'twl_' + 'x'.repeat(43))).status).toBe(401);
    const client = new Client({ name: 'viewer', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${base}/mcp`), { requestInit: { headers: auth(viewer) } }));
    const names = (await client.listTools()).tools.map((t) => t.name);
    expect(names).toContain('cache_cache_get');
    expect(names).not.toContain('real-desktop-commander_execute_command');
    expect(names).not.toContain('cache_cache_set');
    await client.close();
    const call = await post('/mcp', JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'real-desktop-commander_execute_command', arguments: { command: ['df'] } } }), {}, viewer);
    expect(call.status).toBe(403);
    expect((await post('/api/tools/real-desktop-commander_execute_command', JSON.stringify({ command: ['df'] }), {}, viewer)).status).toBe(403);
    // Without a key the address's bucket (5 here) runs out: 429 with Retry-After.
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 8; i++) {
      const r = await fetch(`${base}/api/tools`);
      statuses.push(r.status);
      if (r.status === 429) retryAfter = r.headers.get('retry-after');
    }
    expect(statuses).toContain(429);
    expect(Number(retryAfter)).toBeGreaterThan(0);
    // A key has its own bucket.
    expect((await get('/api/tools')).status).toBe(200);
  });

  it('stops accepting a revoked key within seconds, without a restart', async () => {
    const created = envelope((await twl(['keys', 'create', '--role', 'viewer', '--name', 'short-lived', '--json'], { home })).stdout).result as { id: number; key: string };
    expect((await get('/api/tools', created.key)).status).toBe(200);
    expect((await twl(['keys', 'revoke', String(created.id)], { home })).exitCode).toBe(0);
    // Refused as no key at all: 401, or 429 once this address's unauthenticated bucket is spent (an earlier test spends it).
    await expect.poll(async () => (await get('/api/tools', created.key)).status, { timeout: 10_000, interval: 250 }).not.toBe(200);
    expect([401, 429]).toContain((await get('/api/tools', created.key)).status);
  });

  it('refuses other hosts and origins (DNS rebinding) and oversized bodies', async () => {
    // fetch will not send a forged Host header; node:http will, as an attacker's DNS would.
    const evil = await new Promise<number>((resolve, reject) => {
      const req = http.get(`${base}/health/live`, { headers: { host: 'evil.example' } }, (res) => (res.resume(), resolve(res.statusCode ?? 0)));
      req.on('error', reject);
    });
    expect(evil).toBe(403);
    const origin = await post('/mcp', JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }), { origin: 'https://evil.example' });
    expect(origin.status).toBe(403);
    const big = await post('/mcp', JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping', params: { pad: 'x'.repeat(5 * 1024 * 1024) } }));
    expect(big.status).toBe(413);
    // A client that writes its whole body, at its own pace, before it reads: the refused body is read
    // and dropped while it comes, so the client's writes all go through and it reads the 413 after.
    const paced = await writeWholeBodyThenRead(new URL(base), '/mcp', 5 * 1024 * 1024, auth());
    expect(paced.writeError).toBeUndefined();
    expect(paced.answer).toMatch(/^HTTP\/1\.1 413 /);
  });

  it('serves REST over the same ops, described by OpenAPI', async () => {
    const list = (await (await get('/api/tools')).json()) as { tools: Array<{ name: string; minRole: string }> };
    expect(list.tools.find((t) => t.name === 'cache_cache_set')).toMatchObject({ minRole: 'operator' });
    const set = await post('/api/tools/cache_cache_set', JSON.stringify({ key: 'rest', value: 'ok', ttl: 60 }));
    expect(await set.json()).toMatchObject({ result: { key: 'rest', stored: true, ttl: 60 } });
    const got = await post('/api/tools/cache_cache_get', JSON.stringify({ key: 'rest' }));
    expect(await got.json()).toMatchObject({ result: { value: 'ok' } });
    const bad = await post('/api/tools/cache_cache_set', JSON.stringify({ key: '' }));
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: { code: 'TWL_INPUT_INVALID' } });
    const refused = await post('/api/tools/database_execute_query', JSON.stringify({ sql: 'drop table twl_cache' }));
    expect(refused.status).toBe(403);
    expect((await post('/api/tools/nope', '{}')).status).toBe(404);
    const doc = (await (await get('/openapi.json')).json()) as { openapi: string; paths: Record<string, unknown> };
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toContain('/api/tools/real-resolver_resolve_ticket');
    expect(Object.keys(doc.paths)).toContain('/api/events');
  });
});

describe('twl serve --http shutting down', () => {
  it('on SIGTERM stops accepting, lets the call in flight finish, and exits 0', async () => {
    const { home, cleanup } = tempHome('twl-serve-stop-');
    // The call in flight: a health check of a service that answers when the test says so.
    const service = await heldService();
    try {
      writeFileSync(path.join(home, '.twlrc.json'), JSON.stringify({ http: { auth: 'none' }, services: [{ name: 'held', kind: 'http', target: service.target, timeout: '120s' }] }));
      const { child, url } = await startHttpServe(home);
      const slow = fetch(`${url}/api/tools/monitoring_health_check`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ services: ['held'] }) });
      // Once the call is in flight (its service has the request), ask the server to stop; then the service answers.
      const held = await service.arrived;
      child.kill('SIGTERM');
      // The answer comes once the server has closed its listener (a new request fails), whenever the loaded machine gets there.
      while (await fetch(`${url}/health/live`).then(() => true, () => false)) await new Promise((r) => setTimeout(r, 25));
      held.answer('ok');
      const answered = await slow;
      expect(answered.status).toBe(200);
      expect(((await answered.json()) as { result: { services: unknown[] } }).result.services).toMatchObject([{ name: 'held', status: 'ok' }]);
      const exited = await child;
      expect(exited.exitCode, `${exited.signal} ${String(exited.stderr).slice(-2000)}`).toBe(0);
      await expect(fetch(`${url}/health/live`)).rejects.toThrow();
    } finally {
      service.close();
      cleanup();
    }
  });
});
