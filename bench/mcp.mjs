// `npm run bench -- mcp`: calls per second and p50/p99 latency of one trivial read-only tool
// call, at concurrency 1 and 32, for twl against baselines measured in the same run:
// stdio — twl serve --stdio vs a minimal official-SDK stdio server;
// HTTP (sessions) — twl serve --http vs a minimal SDK Streamable HTTP server vs raw node:http
// answering a fixed JSON-RPC result (the floor).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

const seconds = Number(process.env.TWL_BENCH_MCP_SECONDS ?? 4);
const pct = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? 0;
};

/** Runs `call` with `concurrency` loops for `seconds`; returns calls/s, p50 and p99 in ms. */
async function load(call, concurrency) {
  for (let i = 0; i < 50; i++) await call(); // warm-up
  const latencies = [];
  const until = performance.now() + seconds * 1000;
  const worker = async () => {
    while (performance.now() < until) {
      const t = performance.now();
      await call();
      latencies.push(performance.now() - t);
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { perSecond: latencies.length / ((performance.now() - started) / 1000), p50: pct(latencies, 0.5), p99: pct(latencies, 0.99) };
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
function post(url, body, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers } }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

/** A session over Streamable HTTP: initialize, then a function that calls the tool. */
async function httpSession(url, tool, args, headers = {}) {
  const init = await post(url, { jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'bench', version: '1' } } }, headers);
  const session = init.headers['mcp-session-id'];
  if (!session) throw new Error(`no session from ${url}: ${init.status} ${init.body.slice(0, 200)}`);
  const h = { ...headers, 'mcp-session-id': session, 'mcp-protocol-version': '2025-06-18' };
  await post(url, { jsonrpc: '2.0', method: 'notifications/initialized' }, h);
  let id = 1;
  return async () => {
    const r = await post(url, { jsonrpc: '2.0', id: id++, method: 'tools/call', params: { name: tool, arguments: args } }, h);
    if (r.status !== 200 || r.body.includes('"isError":true')) throw new Error(`${tool} failed: ${r.status} ${r.body.slice(0, 200)}`);
  };
}

const waitFor = (child, pattern) =>
  new Promise((resolve, reject) => {
    let out = '';
    const on = (d) => {
      out += d.toString();
      const m = pattern.exec(out);
      if (m) resolve(m);
    };
    child.stdout?.on('data', on);
    child.stderr?.on('data', on);
    setTimeout(() => reject(new Error(`not ready: ${out}`)), 60_000);
  });

export async function mcp({ root, bin, node, json = false }) {
  const fixture = path.join(root, 'bench/fixtures/minimal-mcp.mjs');
  const home = mkdtempSync(path.join(os.tmpdir(), 'twl-bench-mcp-'));
  const env = { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TWL_'))), TWL_HOME: home, HOME: home };
  // The trivial read-only op: sentiment of a short text (no I/O). The server runs keyless here;
  // with keys every request also verifies its key in the store.
  writeFileSync(path.join(home, '.twlrc.json'), JSON.stringify({ http: { auth: 'none', rateLimit: { ip: { capacity: 1e9, refillPerMinute: 1e9 } } } }));
  const rows = [];
  const children = [];
  try {
    // stdio
    for (const [name, command, args, tool, input] of [
      ['stdio: minimal SDK server (baseline)', node, [fixture, 'stdio'], 'echo', { text: 'ok' }],
      ['stdio: twl serve --stdio', node, [bin, 'serve', '--stdio'], 'sentiment-analyzer_analyze_sentiment', { text: 'ok' }],
    ]) {
      const client = new Client({ name: 'bench', version: '1' });
      await client.connect(new StdioClientTransport({ command, args, env, cwd: home, stderr: 'ignore' }));
      const call = () => client.callTool({ name: tool, arguments: input });
      for (const c of [1, 32]) rows.push({ name, concurrency: c, ...(await load(call, c)) });
      await client.close();
    }
    // HTTP floor: raw node:http with a fixed JSON-RPC result.
    const raw = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"ok"}]}}'));
    });
    await new Promise((r) => raw.listen(0, '127.0.0.1', r));
    const rawUrl = `http://127.0.0.1:${raw.address().port}/mcp`;
    for (const c of [1, 32]) rows.push({ name: 'http: raw node:http, fixed result (floor)', concurrency: c, ...(await load(() => post(rawUrl, { jsonrpc: '2.0', id: 1, method: 'tools/call' }), c)) });
    raw.close();
    // HTTP: minimal SDK sessions.
    const port = 40000 + (process.pid % 5000);
    const minimal = spawn(node, [fixture, 'http', String(port)], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(minimal);
    await waitFor(minimal, /ready/);
    const minimalCall = await httpSession(`http://127.0.0.1:${port}/mcp`, 'echo', { text: 'ok' });
    for (const c of [1, 32]) rows.push({ name: 'http: minimal SDK server, session', concurrency: c, ...(await load(minimalCall, c)) });
    // HTTP: twl.
    const twl = spawn(node, [bin, 'serve', '--http', '--port', '0'], { env, cwd: home, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(twl);
    const [, base] = await waitFor(twl, /serves MCP at (http:\/\/\S+)\/mcp/);
    const twlCall = await httpSession(`${base}/mcp`, 'sentiment-analyzer_analyze_sentiment', { text: 'ok' });
    for (const c of [1, 32]) rows.push({ name: 'http: twl serve --http, session', concurrency: c, ...(await load(twlCall, c)) });
  } finally {
    for (const child of children) child.kill('SIGTERM');
    await sleep(300);
    agent.destroy();
    rmSync(home, { recursive: true, force: true });
  }
  if (!json) {
    console.log(`\nmcp — one trivial read-only tool call, ${seconds} s per case, node ${process.version}, ${os.cpus().length} cores`);
    console.log(`${'case'.padEnd(46)}${'c'.padStart(4)}${'calls/s'.padStart(10)}${'p50 ms'.padStart(9)}${'p99 ms'.padStart(9)}`);
    for (const r of rows) console.log(`${r.name.padEnd(46)}${String(r.concurrency).padStart(4)}${Math.round(r.perSecond).toString().padStart(10)}${r.p50.toFixed(2).padStart(9)}${r.p99.toFixed(2).padStart(9)}`);
    const ratio = (a, b, c) => {
      const x = rows.find((r) => r.name.startsWith(a) && r.concurrency === c);
      const y = rows.find((r) => r.name.startsWith(b) && r.concurrency === c);
      return x && y ? `${((x.perSecond / y.perSecond) * 100).toFixed(0)}%` : '—';
    };
    console.log(`\nstdio: twl / minimal SDK = ${ratio('stdio: twl', 'stdio: minimal', 1)} at c=1, ${ratio('stdio: twl', 'stdio: minimal', 32)} at c=32 (goal ≥ 80%)`);
    console.log(`http sessions at c=32: twl / raw floor = ${ratio('http: twl', 'http: raw', 32)} (goal ≥ 50%); twl / minimal SDK = ${ratio('http: twl', 'http: minimal', 32)}`);
    console.log('Not measured yet: stateless requests and the 2026-07-28 revision (not served), and RSS under a 60 s load.');
  }
  return rows;
}
