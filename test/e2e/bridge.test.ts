// `twl bridge -- <server-everything over stdio>`: the official clients of both protocol eras list
// and call its tools through the bridge; the seed's REST face, /mcp/status, /health and /metrics;
// API keys and roles as `twl serve --http` has them. Real processes: the built twl, the real
// server-everything as the bridge's child, the official SDK clients.
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { Client as Client1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as Transport1 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { execa } from 'execa';
import { existsSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bin, envelope, freePort, inheritedEnv, tempHome, twl } from '../helpers.js';
import { eventually, everything, marker, processesWith, request, restCall, startBridge, tinyServer } from './bridge-helpers.js';

const REVISION = '2026-07-28';

describe('twl bridge in front of server-everything (keyless, loopback)', () => {
  let home: string;
  let cleanup: () => void;
  let bridge: Awaited<ReturnType<typeof startBridge>>;
  const mark = marker();

  beforeAll(async () => {
    ({ home, cleanup } = tempHome('twl-bridge-'));
    writeFileSync(path.join(home, '.twlrc.json'), JSON.stringify({ http: { auth: 'none' } }));
    bridge = await startBridge(home, ['--', ...mark.node, everything, 'stdio']);
  });
  afterAll(async () => {
    bridge?.child.kill('SIGTERM');
    await bridge?.child;
    cleanup();
  });

  it('the official 2.x client, pinned to 2026-07-28 (no handshake, no session), lists and calls the upstream tools under their own names', async () => {
    const client = new Client({ name: 'bridge-2026', version: '1.0.0' }, { versionNegotiation: { mode: { pin: REVISION } } });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${bridge.url}/mcp`)));
    try {
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name)).toContain('echo');
      // The upstream's own schema and annotations, as it declared them.
      const echo = tools.find((t) => t.name === 'echo')!;
      expect(echo.inputSchema.properties).toHaveProperty('message');
      expect(echo.annotations?.readOnlyHint).toBe(true);
      const result = await client.callTool({ name: 'echo', arguments: { message: 'through the bridge' } });
      expect(result.content).toEqual([{ type: 'text', text: 'Echo: through the bridge' }]);
    } finally {
      await client.close();
    }
  });

  it('the 1.x client (a 2025 session) lists and calls them, and sees the upstream\'s resources and prompts, not twl\'s', async () => {
    const client = new Client1({ name: 'bridge-2025', version: '1.0.0' });
    const transport = new Transport1(new URL(`${bridge.url}/mcp`));
    await client.connect(transport);
    try {
      expect(transport.sessionId).toBeTruthy();
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name)).toEqual(expect.arrayContaining(['echo', 'get-sum']));
      expect(tools.some((t) => t.name.startsWith('monitoring_') || t.name.startsWith('bridge_'))).toBe(false);
      const sum = await client.callTool({ name: 'get-sum', arguments: { a: 2, b: 40 } });
      expect(JSON.stringify(sum.content)).toContain('42');
      // A tool the upstream does not have: a tool error, as the stdio server itself answers it, in the catalog's words.
      const unknown = await client.callTool({ name: 'no-such-tool', arguments: {} });
      expect(unknown.isError).toBe(true);
      expect(unknown.content).toEqual([{ type: 'text', text: 'No tool named "no-such-tool".' }]);
      const { resources } = await client.listResources();
      expect(resources.length).toBeGreaterThan(0);
      expect(resources.every((r) => !r.uri.startsWith('twl://'))).toBe(true);
      const read = await client.readResource({ uri: resources[0]!.uri });
      expect(read.contents.length).toBeGreaterThan(0);
      const { prompts } = await client.listPrompts();
      expect(prompts.length).toBeGreaterThan(0);
      await transport.terminateSession();
    } finally {
      await client.close();
    }
  });

  it('REST: /mcp/tools/list says when the list came from the cache, /mcp/tools/call takes X-Session-ID, X-Priority and X-Timeout', async () => {
    const first = await request(`${bridge.url}/mcp/tools/list`);
    expect(first.status).toBe(200);
    expect((first.body.tools as Array<{ name: string }>).map((t) => t.name)).toContain('echo');
    const again = await request(`${bridge.url}/mcp/tools/list`, { headers: { 'x-session-id': 'rest-1' } });
    expect(again.body.cached).toBe(true);
    expect(again.body.session_id).toBe('rest-1');
    const call = await request(`${bridge.url}/mcp/tools/call`, { headers: { 'x-session-id': 'rest-1', 'x-priority': 'HIGH', 'x-timeout': '30' }, body: { name: 'echo', arguments: { message: 'rest' }, request_id: 'r-7' } });
    expect(call.status).toBe(200);
    expect(call.body).toMatchObject({ content: [{ type: 'text', text: 'Echo: rest' }], isError: false, request_id: 'r-7', session_id: 'rest-1' });
  });

  it('REST refuses what is wrong, naming it: a bad header, a body that is not a call, an unknown tool, another method', async () => {
    const bad = await restCall(bridge.url, 'echo', { message: 'x' }, { 'x-priority': 'URGENT' });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toMatch(/X-Priority .*CRITICAL, HIGH, MEDIUM, LOW, BULK/);
    expect((await restCall(bridge.url, 'echo', { message: 'x' }, { 'x-timeout': '0' })).status).toBe(400);
    expect((await restCall(bridge.url, 'echo', { message: 'x' }, { 'x-session-id': '../../etc' })).status).toBe(400);
    expect((await request(`${bridge.url}/mcp/tools/call`, { body: [1, 2] })).status).toBe(400);
    expect((await request(`${bridge.url}/mcp/tools/call`, { body: { arguments: {} } })).status).toBe(400);
    expect((await request(`${bridge.url}/mcp/tools/call`, { body: '{"name": ' })).status).toBe(400);
    const unknown = await restCall(bridge.url, 'no-such-tool');
    expect(unknown.status).toBe(404);
    expect((unknown.body.error as { code: string }).code).toBe('TWL_TOOL_UNKNOWN');
    expect((await request(`${bridge.url}/mcp/tools/call`, { method: 'GET' })).status).toBe(405);
    // The upstream validates its own input: a tool error comes back as a result, not an HTTP failure.
    const invalid = await restCall(bridge.url, 'echo', { message: 42 });
    expect(invalid.status).toBe(200);
    expect(invalid.body.isError).toBe(true);
  });

  it('/mcp/status has the seed\'s sections with the upstream\'s real state; /health has it as a dependency; /metrics has the upstream series', async () => {
    const status = (await request(`${bridge.url}/mcp/status`, { method: 'GET' })).body as Record<string, Record<string, unknown>>;
    expect(status.bridge).toMatchObject({ status: 'healthy', upstream: { name: 'bridge', transport: 'stdio', sharing: 'shared', state: 'ready', breaker: 'closed' } });
    expect(status.queue).toMatchObject({ pending: 0, processing: 0, by_priority: { CRITICAL: 0, HIGH: 0, MEDIUM: 0, LOW: 0, BULK: 0 } });
    expect(status.sessions).toHaveProperty('upstream_children');
    expect((status.sessions!.upstream_children as { total: number }).total).toBe(1);
    expect((status.sessions!.rest as { total: number }).total).toBeGreaterThanOrEqual(1);
    expect(status.cache).toHaveProperty('hit_rate');
    expect(status.performance).toHaveProperty('requests_per_second');
    const health = await request(`${bridge.url}/health`, { method: 'GET' });
    expect(health.status).toBe(200);
    expect(health.body).toMatchObject({ status: 'ok', dependencies: { upstream: { status: 'ok', state: 'ready' } } });
    const metrics = await (await fetch(`${bridge.url}/metrics`)).text();
    for (const series of ['upstream_queue_wait_seconds', 'upstream_children{', 'upstream_breaker_state{', 'upstream_call_duration_seconds', 'upstream_restarts_total']) expect(metrics).toContain(series);
  });

  it('its one upstream child is the marked server, a child of the bridge', () => {
    const pids = processesWith(mark.file, [bridge.child.pid]);
    expect(pids).toHaveLength(1);
  });
});

describe('twl bridge with API keys', () => {
  let home: string;
  let cleanup: () => void;
  let bridge: Awaited<ReturnType<typeof startBridge>>;
  let viewer: string;
  let operator: string;

  beforeAll(async () => {
    ({ home, cleanup } = tempHome('twl-bridge-keys-'));
    const key = async (role: string) => envelope((await twl(['keys', 'create', '--role', role, '--name', role, '--json'], { home })).stdout).result!.key as string;
    viewer = await key('viewer');
    operator = await key('operator');
    bridge = await startBridge(home, ['--', process.execPath, everything, 'stdio']);
  });
  afterAll(async () => {
    bridge?.child.kill('SIGTERM');
    await bridge?.child;
    cleanup();
  });

  const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

  it('refuses callers without a key (401), and a Host that is not this server (403)', async () => {
    expect((await restCall(bridge.url, 'echo', { message: 'x' })).status).toBe(401);
    expect((await request(`${bridge.url}/mcp/status`, { method: 'GET' })).status).toBe(401);
    // fetch sets Host itself: a raw request sends the one a rebinding page would.
    const { port } = new URL(bridge.url);
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, path: '/mcp/tools/call', method: 'POST', headers: { ...bearer(operator), host: `evil.example:${port}`, 'content-type': 'application/json' } }, (res) => {
        res.resume();
        resolve(res.statusCode!);
      });
      req.on('error', reject);
      req.end(JSON.stringify({ name: 'echo', arguments: { message: 'x' } }));
    });
    expect(status).toBe(403);
  });

  it('a viewer calls read-only tools, but not one that changes things, over REST and over MCP', async () => {
    expect((await restCall(bridge.url, 'echo', { message: 'x' }, bearer(viewer))).status).toBe(200);
    const refused = await restCall(bridge.url, 'toggle-simulated-logging', {}, bearer(viewer));
    expect(refused.status).toBe(403);
    expect(JSON.stringify(refused.body)).toMatch(/operator/);
    const listed = (await request(`${bridge.url}/mcp/tools/list`, { headers: bearer(viewer) })).body.tools as Array<{ name: string }>;
    expect(listed.map((t) => t.name)).not.toContain('toggle-simulated-logging');
    const mcp = await request(`${bridge.url}/mcp`, {
      headers: { ...bearer(viewer), accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-06-18' },
      body: { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'toggle-simulated-logging', arguments: {} } },
    });
    expect(mcp.status).toBe(403);
    expect((await restCall(bridge.url, 'toggle-simulated-logging', {}, bearer(operator))).status).toBe(200);
  });

  it("a key limited to other namespaces is forwarded none of the upstream's resources, prompts and completions (none declared); a key granted its namespace is", async () => {
    const key = async (name: string, namespaces: string) => envelope((await twl(['keys', 'create', '--role', 'operator', '--name', name, '--namespaces', namespaces, '--json'], { home })).stdout).result!.key as string;
    const connect = async (k: string) => {
      const client = new Client1({ name: 'bridge-grant', version: '1.0.0' });
      await client.connect(new Transport1(new URL(`${bridge.url}/mcp`), { requestInit: { headers: bearer(k) } }));
      return client;
    };
    // The bridge's upstream is named (and namespaced) `bridge` by default.
    const elsewhere = await connect(await key('elsewhere', 'twl'));
    const granted = await connect(await key('granted', 'bridge'));
    try {
      expect((await granted.listPrompts()).prompts.length).toBeGreaterThan(0);
      expect((await granted.listResources()).resources.length).toBeGreaterThan(0);
      expect(granted.getServerCapabilities()).toMatchObject({ resources: {}, prompts: {}, completions: {} });
      expect((await elsewhere.listTools()).tools).toEqual([]);
      const capabilities = elsewhere.getServerCapabilities()!;
      expect(Object.keys(capabilities).filter((c) => ['resources', 'prompts', 'completions'].includes(c))).toEqual([]);
      await expect(elsewhere.listPrompts()).rejects.toThrow(/Method not found/);
      await expect(elsewhere.listResources()).rejects.toThrow(/Method not found/);
    } finally {
      await elsewhere.close();
      await granted.close();
    }
  });
});

describe('twl bridge applies the HTTP limits of twl serve --http', () => {
  let home: string;
  let cleanup: () => void;
  let bridge: Awaited<ReturnType<typeof startBridge>>;
  let key: string;

  beforeAll(async () => {
    ({ home, cleanup } = tempHome('twl-bridge-limits-'));
    writeFileSync(path.join(home, '.twlrc.json'), JSON.stringify({ http: { bodyLimit: 2048, rateLimit: { key: { capacity: 4, refillPerMinute: 0.01 } } } }));
    const created = await twl(['keys', 'create', '--role', 'operator', '--json'], { home });
    expect(created.exitCode, created.stdout + created.stderr).toBe(0);
    key = envelope(created.stdout).result!.key as string;
    bridge = await startBridge(home, ['--', process.execPath, everything, 'stdio']);
  });
  afterAll(async () => {
    bridge?.child.kill('SIGTERM');
    await bridge?.child;
    cleanup();
  });

  it('a body over http.bodyLimit gets 413 on the REST face and on /mcp; a key past its rate limit gets 429', async () => {
    const auth = { authorization: `Bearer ${key}` };
    const big = await restCall(bridge.url, 'echo', { message: 'x'.repeat(4096) }, auth);
    expect(big.status).toBe(413);
    expect(JSON.stringify(big.body)).toMatch(/larger than 2048 bytes/);
    const mcp = await request(`${bridge.url}/mcp`, { headers: { ...auth, accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-06-18' }, body: { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: { message: 'x'.repeat(4096) } } } });
    expect(mcp.status).toBe(413);
    // Capacity 4, hardly refilled: two more requests pass, then the key is refused.
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await restCall(bridge.url, 'echo', { message: `call ${i}` }, auth)).status);
    expect(statuses).toEqual([200, 200, 429, 429]);
    const limited = await restCall(bridge.url, 'echo', { message: 'again' }, auth);
    expect(limited.body.error).toMatchObject({ code: 'TWL_RATE_LIMITED' });
  });
});

describe('twl bridge binds its address before it starts its upstream', () => {
  it('while the upstream starts, the port answers 503 TWL_STARTING with Retry-After (liveness 200); then the bridge serves', async () => {
    const { home, cleanup } = tempHome('twl-bridge-starting-');
    writeFileSync(path.join(home, '.twlrc.json'), JSON.stringify({ http: { auth: 'none' } }));
    const mark = marker();
    const started = `${mark.file}.started`;
    const go = `${mark.file}.go`;
    // The upstream says it started, then holds its handshake until the test lets it go (60 s at most).
    writeFileSync(
      mark.file,
      `const fs = require('node:fs'); fs.writeFileSync(${JSON.stringify(started)}, String(process.pid));\n` +
        `const until = Date.now() + 60000; while (!fs.existsSync(${JSON.stringify(go)}) && Date.now() < until) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);\n`,
    );
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const child = execa(process.execPath, [bin, 'bridge', '--port', String(port), '--', ...mark.node, tinyServer], { env: { ...inheritedEnv(), TWL_HOME: home, HOME: home }, cwd: home, extendEnv: false, reject: false });
    let output = '';
    child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    let exited = false;
    void child.then(() => (exited = true));
    try {
      await eventually(() => existsSync(started) || exited, 'the upstream started');
      expect(exited, output).toBe(false);
      // The bridge is not ready (its upstream has not answered), but its port is its own already.
      const early = await fetch(`${base}/mcp/tools/call`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'hello', arguments: {} }) });
      expect(early.status).toBe(503);
      expect(early.headers.get('retry-after')).toBe('1');
      expect(((await early.json()) as { error: { code: string } }).error.code).toBe('TWL_STARTING');
      expect((await fetch(`${base}/health/live`)).status).toBe(200);
      expect(output).not.toContain('serves MCP');
      writeFileSync(go, '');
      await eventually(() => output.includes(`serves MCP at ${base}/mcp`) || exited, 'the bridge serves');
      const call = await restCall(base, 'hello');
      expect(call.status, JSON.stringify(call.body)).toBe(200);
      expect(JSON.stringify(call.body)).toContain('hello from');
    } finally {
      writeFileSync(go, '');
      child.kill('SIGTERM');
      await child;
      cleanup();
    }
    expect(processesWith(mark.file)).toEqual([]);
  });
});
