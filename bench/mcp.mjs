// `npm run bench -- mcp`: calls per second and p50/p99 latency of one trivial read-only tool
// call, at concurrency 1 and 32, for twl against baselines measured in the same run:
// stdio — twl serve --stdio vs a minimal official-SDK (1.x) stdio server;
// HTTP — twl serve --http in three ways: a 2025 session, 2025 stateless (a bare tools/call
// POST, no Mcp-Session-Id) and 2026-07-28 (no handshake, no session: a _meta envelope on
// each request), vs minimal official-SDK servers (1.x: session and stateless; 2.x
// createMcpHandler: stateless and 2026-07-28) and raw node:http answering a fixed JSON-RPC
// result (the floor). Every server is its own process, and every case runs in slices
// interleaved with the others, because these machines are noisy.
// Then memory: twl serve --http's RSS under c=32 load for TWL_BENCH_MCP_MEMORY_SECONDS (60),
// at 10 s and at the end.
// Every answer is checked: a failed call is counted as such, never as throughput.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

const seconds = Number(process.env.TWL_BENCH_MCP_SECONDS ?? 4);
const memorySeconds = Number(process.env.TWL_BENCH_MCP_MEMORY_SECONDS ?? 60);
const SLICES = 4;
const CONCURRENCY = [1, 32];
export const LEGACY = '2025-06-18';
export const REVISION = '2026-07-28';
const TWL_TOOL = ['sentiment-analyzer_analyze_sentiment', { text: 'ok' }];
const ECHO_TOOL = ['echo', { text: 'ok' }];

/** A case's figures from its tally: calls per second, p50 and p99, counts, and why it failed if it did. */
export const measured = (tally, failure) => ({
  perSecond: failure ? 0 : tally.latencies.length / (tally.ms / 1000),
  p50: pct(tally.latencies, 0.5),
  p99: pct(tally.latencies, 0.99),
  calls: tally.latencies.length,
  failed: tally.failed,
  error: failure ?? tally.firstError,
  failure,
});

export const pct = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? 0;
};

/**
 * Runs `call` with `concurrency` loops for `ms`, adding to the case's tally: latencies of the
 * calls that succeeded, failures (with the first message), and the time spent.
 */
export async function slice(call, concurrency, ms, tally) {
  const until = performance.now() + ms;
  const worker = async () => {
    while (performance.now() < until) {
      const t = performance.now();
      try {
        await call();
        tally.latencies.push(performance.now() - t);
      } catch (err) {
        tally.failed++;
        tally.firstError ??= err.message;
      }
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  tally.ms += performance.now() - started;
}

export const newTally = () => ({ latencies: [], failed: 0, firstError: undefined, ms: 0 });

/**
 * Sets up each series (`setup()` resolves with its call) and checks 50 calls each (the warm-up; a
 * series that cannot is reported with its failure, not measured), then runs every case — a series
 * at a concurrency — round-robin: `slices` slices of seconds/slices each, so drift hits all alike.
 */
export async function measureSeries(series, concurrencies, seconds, slices) {
  const cases = [];
  for (const s of series) {
    try {
      s.call = await s.setup();
      for (let i = 0; i < 50; i++) await s.call();
    } catch (err) {
      s.failure = err.message;
    }
    for (const c of concurrencies) cases.push({ ...s, concurrency: c, tally: newTally() });
  }
  for (let i = 0; i < slices; i++) for (const c of cases) if (!c.failure) await slice(c.call, c.concurrency, (seconds * 1000) / slices, c.tally);
  return cases;
}

/** A free TCP port on loopback (for servers that cannot report one they chose themselves). */
export const freePort = () =>
  new Promise((resolve, reject) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });

export const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
export function post(url, body, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers } }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString() }));
      // A server that dies mid-answer (an SSE stream cut short) never ends the response.
      res.on('error', reject);
      res.on('close', () => res.complete || reject(new Error('the connection closed before the answer was complete')));
    });
    // A server that stops answering must fail the case, not hang the bench.
    req.setTimeout(30_000, () => req.destroy(new Error('no answer in 30 s')));
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

/** The JSON-RPC response in an HTTP answer: the JSON body, or the SSE event that carries it. */
export function rpcOf(r) {
  if (!String(r.headers['content-type']).startsWith('text/event-stream')) return JSON.parse(r.body);
  const messages = r.body
    .split('\n')
    .filter((l) => l.startsWith('data:'))
    .map((l) => JSON.parse(l.slice(5)));
  return messages.find((m) => 'result' in m || 'error' in m);
}

/** Throws unless `message` is a successful tool result: a JSON-RPC result, not isError, with content. */
export function expectToolResult(message, raw = '') {
  const result = message?.result;
  if (!result) throw new Error(message?.error ? `JSON-RPC error ${message.error.code}: ${message.error.message}` : `no JSON-RPC result: ${raw.slice(0, 200)}`);
  if (result.isError) throw new Error(`tool error: ${JSON.stringify(result.content).slice(0, 200)}`);
  if (!Array.isArray(result.content) || !result.content.length) throw new Error(`a result without content: ${JSON.stringify(result).slice(0, 200)}`);
}

/** One tools/call over HTTP; throws unless it is a successful tool result (and passes `check`, if any). */
export async function httpCall(url, body, headers, check) {
  const r = await post(url, body, headers);
  if (r.status !== 200) throw new Error(`HTTP ${r.status}: ${r.body.slice(0, 200)}`);
  let message;
  try {
    message = rpcOf(r);
  } catch {
    throw new Error(`not JSON-RPC: ${r.body.slice(0, 200)}`);
  }
  expectToolResult(message, r.body);
  check?.(r, message);
}

export const toolCall = (id, [name, args], extra = {}) => ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args, ...extra } });

/** 2025 with a session: initialize and initialized once, then every call carries Mcp-Session-Id. */
export async function httpSession(url, tool) {
  const init = await post(url, { jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: LEGACY, capabilities: {}, clientInfo: { name: 'bench', version: '1' } } });
  const session = init.headers['mcp-session-id'];
  if (!session) throw new Error(`no session from ${url}: ${init.status} ${init.body.slice(0, 200)}`);
  const h = { 'mcp-session-id': session, 'mcp-protocol-version': LEGACY };
  await post(url, { jsonrpc: '2.0', method: 'notifications/initialized' }, h);
  let id = 1;
  return () => httpCall(url, toolCall(id++, tool), h);
}

/** 2025 stateless: every call a bare tools/call POST, no initialize, no Mcp-Session-Id (only the version header a 2025 client sends). */
export function httpStateless(url, tool) {
  let id = 1;
  const check = (r) => {
    if (r.headers['mcp-session-id']) throw new Error('a stateless call was answered with a session');
  };
  return () => httpCall(url, toolCall(id++, tool), { 'mcp-protocol-version': LEGACY }, check);
}

/**
 * 2026-07-28: no handshake, no session; every POST carries the _meta envelope and the
 * Mcp-Method/Mcp-Name headers — what the official 2.x client pinned to the revision sends.
 */
export function http2026(url, tool, extraHeaders = {}) {
  const _meta = { 'io.modelcontextprotocol/protocolVersion': REVISION, 'io.modelcontextprotocol/clientInfo': { name: 'bench', version: '1' }, 'io.modelcontextprotocol/clientCapabilities': {} };
  const headers = { 'mcp-protocol-version': REVISION, 'mcp-method': 'tools/call', 'mcp-name': tool[0], ...extraHeaders };
  // A 2026-07-28 result says what it is (resultType); a 2025 one served by mistake does not.
  const check = (r, message) => {
    if (message.result.resultType !== 'complete') throw new Error(`not a 2026-07-28 result (resultType ${message.result.resultType})`);
  };
  let id = 1;
  return () => httpCall(url, toolCall(id++, tool, { _meta }), headers, check);
}

/** An MCP client over stdio (official SDK 1.x client); resolves with the call. */
export async function stdioClient(clients, command, args, options, tool) {
  const client = new Client({ name: 'bench', version: '1' });
  await client.connect(new StdioClientTransport({ command, args, ...options, stderr: 'ignore' }));
  clients.push(client);
  return async () => expectToolResult({ result: await client.callTool({ name: tool[0], arguments: tool[1] }) });
}

/**
 * Starts a server process and resolves with the match of `ready` in its output. Its output
 * keeps being read (a full pipe would stall it), and the tail is kept to explain a failure.
 */
export function start(children, command, args, options, ready) {
  const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  child.tail = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not ready in 60 s: ${child.tail}`)), 60_000);
    const on = (d) => {
      const text = child.tail + d;
      child.tail = text.slice(-2000);
      const m = ready.exec(text);
      if (m && !child.ready) {
        child.ready = true;
        clearTimeout(timer);
        resolve(m);
      }
    };
    child.stdout.on('data', on);
    child.stderr.on('data', on);
    child.once('exit', (code, signal) => {
      // A server that dies under load explains its cases' failures: keep how, and its last words.
      if (!child.stopping) child.died = `${path.basename(args[0])} ${args.slice(1).join(' ')} exited (${code ?? signal}) during the run: ${child.tail.trim().slice(-500)}`;
      clearTimeout(timer);
      reject(new Error(`${args.join(' ')} exited (${code ?? signal}) before it was ready: ${child.tail}`));
    });
  });
}

/** SIGTERM, then the exit (twl drains for up to 10 s), then SIGKILL. */
export async function stop(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.stopping = true;
  child.kill('SIGTERM');
  if ((await Promise.race([exited.then(() => true), sleep(12_000).then(() => false)])) === false) child.kill('SIGKILL');
}

/** Resident memory of a process in MB, from /proc (Linux). */
export const rssMb = (pid) => Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) / 1024;

/**
 * `calls` mixed round-robin by 32 workers for `seconds` (after 20 warm-up calls each); the RSS of
 * `pid` at 10 s (warm, past start-up allocation; earlier for short runs), every 10 s after, and at
 * the end, with the end's ratio to the first.
 */
export async function rssUnderLoad(pid, calls, seconds) {
  for (const call of calls) for (let i = 0; i < 20; i++) await call();
  const tally = newTally();
  let next = 0;
  const mixed = () => calls[next++ % calls.length]();
  const first = Math.min(10, seconds / 2);
  const at = [first, ...Array.from({ length: Math.ceil(seconds / 10) }, (_, i) => (i + 1) * 10).filter((t) => t > first && t < seconds)];
  const samples = [];
  const started = performance.now();
  const sampling = (async () => {
    for (const t of at) {
      await sleep(Math.max(0, started + t * 1000 - performance.now()));
      samples.push({ t, mb: rssMb(pid) });
    }
  })();
  await slice(mixed, 32, seconds * 1000, tally);
  await sampling;
  samples.push({ t: Math.round((performance.now() - started) / 100) / 10, mb: rssMb(pid) });
  const ratio = samples.at(-1).mb / samples[0].mb;
  return { seconds, perSecond: tally.latencies.length / (tally.ms / 1000), calls: tally.latencies.length, failed: tally.failed, firstError: tally.firstError, samples, ratio, flat: Math.abs(ratio - 1) <= 0.1 };
}

/**
 * twl serve --http under c=32 load for `memorySeconds`, the workers spread over the three
 * ways of calling (session, stateless, 2026-07-28); RSS of the serve process every 10 s.
 */
async function memory({ children, node, bin, env, home }) {
  const [, base] = await start(children, node, [bin, 'serve', '--http', '--port', '0'], { env, cwd: home }, /serves MCP at (http:\/\/\S+)\/mcp/);
  const pid = children.at(-1).pid;
  // spawn runs node directly (no npm or shell in between), so this pid is twl's own process.
  const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  if (!cmdline.includes('serve') || !cmdline.includes('--http')) throw new Error(`pid ${pid} is not twl serve --http: ${cmdline.join(' ')}`);
  const url = `${base}/mcp`;
  const calls = [await httpSession(url, TWL_TOOL), httpStateless(url, TWL_TOOL), http2026(url, TWL_TOOL)];
  const result = await rssUnderLoad(pid, calls, memorySeconds);
  await stop(children.at(-1));
  return result;
}

export async function mcp({ root, bin, node, json = false }) {
  const fixture = path.join(root, 'bench/fixtures/minimal-mcp.mjs');
  const homes = [];
  // A data directory per twl process: twl serve hosts its embedded store for others, so two
  // serves sharing one would measure one through the other's socket.
  const twlHome = () => {
    const home = mkdtempSync(path.join(os.tmpdir(), 'twl-bench-mcp-'));
    homes.push(home);
    // The trivial read-only op: sentiment of a short text (no I/O). The server runs keyless here;
    // with keys every request also verifies its key in the store.
    writeFileSync(path.join(home, '.twlrc.json'), JSON.stringify({ http: { auth: 'none', rateLimit: { ip: { capacity: 1e9, refillPerMinute: 1e9 } } } }));
    return { home, env: { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TWL_'))), TWL_HOME: home, HOME: home } };
  };
  const stdioHome = twlHome();
  const httpHome = twlHome();
  const env = stdioHome.env;
  const children = [];
  const clients = [];
  // Each series: one server and one way of calling it, measured at every concurrency.
  // `server` and `kind` pair twl's series with their baselines.
  const series = [];
  const add = (transport, server, kind, name, setup) => series.push({ transport, server, kind, name, setup });
  const httpServer = (mode) => start(children, node, [fixture, mode], { env }, /ready (\d+)/).then(([, port]) => `http://127.0.0.1:${port}/mcp`);
  const once = (f) => {
    let p;
    return () => (p ??= f());
  };
  const sdk1 = once(() => httpServer('http'));
  const sdk2 = once(() => httpServer('http2'));
  const twl = once(() => start(children, node, [bin, 'serve', '--http', '--port', '0'], { env: httpHome.env, cwd: httpHome.home }, /serves MCP at (http:\/\/\S+)\/mcp/).then(([, base]) => `${base}/mcp`));
  add('stdio', 'sdk1', 'stdio', 'minimal SDK 1.x server', () => stdioClient(clients, node, [fixture, 'stdio'], { env }, ECHO_TOOL));
  add('stdio', 'twl', 'stdio', 'twl serve --stdio', () => stdioClient(clients, node, [bin, 'serve', '--stdio'], { env: stdioHome.env, cwd: stdioHome.home }, TWL_TOOL));
  add('http', 'raw', 'floor', 'raw node:http, fixed result (floor)', async () => {
    const url = await httpServer('raw');
    return () => httpCall(url, toolCall(1, ECHO_TOOL));
  });
  add('http', 'sdk1', 'session', 'SDK 1.x, session', async () => httpSession(await sdk1(), ECHO_TOOL));
  add('http', 'sdk1', 'stateless', 'SDK 1.x, stateless', async () => httpStateless(await sdk1(), ECHO_TOOL));
  add('http', 'sdk2', 'stateless', 'SDK 2.x createMcpHandler, stateless', async () => httpStateless(await sdk2(), ECHO_TOOL));
  add('http', 'sdk2', '2026', `SDK 2.x createMcpHandler, ${REVISION}`, async () => http2026(await sdk2(), ECHO_TOOL));
  add('http', 'twl', 'session', 'twl serve --http, session', async () => httpSession(await twl(), TWL_TOOL));
  add('http', 'twl', 'stateless', 'twl serve --http, stateless', async () => httpStateless(await twl(), TWL_TOOL));
  add('http', 'twl', '2026', `twl serve --http, ${REVISION}`, async () => http2026(await twl(), TWL_TOOL));

  const cases = [];
  let mem;
  try {
    cases.push(...(await measureSeries(series, CONCURRENCY, seconds, SLICES)));
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    // The throughput servers go before the memory run, so only twl and the load share the machine.
    await Promise.all(children.map(stop));
    try {
      mem = await memory({ children, node, bin, ...httpHome });
    } catch (err) {
      mem = { seconds: memorySeconds, failure: err.message };
    }
  } finally {
    await Promise.all(children.map(stop));
    agent.destroy();
    for (const home of homes) rmSync(home, { recursive: true, force: true });
  }

  const rows = cases.map(({ transport, server, kind, name, concurrency, failure, tally }) => ({ transport, server, kind, name, concurrency, ...measured(tally, failure) }));
  const find = (server, kind, c) => rows.find((r) => r.server === server && r.kind === kind && r.concurrency === c);
  /** twl's calls/s over a baseline's, or undefined when either is missing or had failed calls. */
  const ratio = (row, server, kind) => {
    const base = find(server, kind ?? row.kind, row.concurrency);
    return row && base && !row.error && !base.error ? row.perSecond / base.perSecond : undefined;
  };
  const goal = (label, row, base, min) => {
    const r = ratio(row, base.server, base.kind);
    const why = row?.error ? `twl failed: ${row.error}` : `the baseline failed: ${find(base.server, base.kind, row.concurrency)?.error}`;
    return { label, ratio: r, min, met: r === undefined ? null : r >= min, ...(r === undefined ? { why } : {}) };
  };
  const goals = [
    ...CONCURRENCY.map((c) => goal(`stdio c=${c}: twl ≥ 80% of the minimal SDK server`, find('twl', 'stdio', c), { server: 'sdk1', kind: 'stdio' }, 0.8)),
    ...['session', 'stateless', '2026'].map((k) => goal(`HTTP c=32, ${k === '2026' ? REVISION : k}: twl ≥ 50% of the raw floor`, find('twl', k, 32), { server: 'raw', kind: 'floor' }, 0.5)),
  ];
  if (!json) {
    const pc = (x) => (x === undefined ? '' : `${(x * 100).toFixed(0)}%`);
    const table = (title, transport, baselines) => {
      console.log(`\n${title.padEnd(42)}${'c'.padStart(4)}${'calls/s'.padStart(10)}${'p50 ms'.padStart(9)}${'p99 ms'.padStart(9)}${'failed'.padStart(8)}${baselines.map(([label]) => `vs ${label}`.padStart(13)).join('')}`);
      for (const r of rows.filter((x) => x.transport === transport)) {
        const vs = baselines.map(([, server, kind]) => pc(r.server === 'twl' ? ratio(r, server, kind) : undefined).padStart(13)).join('');
        if (r.failure) console.log(`${r.name.padEnd(42)}${String(r.concurrency).padStart(4)}   FAILED, not measured`);
        else console.log(`${r.name.padEnd(42)}${String(r.concurrency).padStart(4)}${Math.round(r.perSecond).toString().padStart(10)}${r.p50.toFixed(2).padStart(9)}${r.p99.toFixed(2).padStart(9)}${String(r.failed).padStart(8)}${vs}`);
      }
      // Why a case failed: once for a series that could not start, per case for failed calls.
      const seen = new Set();
      for (const r of rows.filter((x) => x.transport === transport && x.error)) {
        if (r.failure && seen.has(r.name)) continue;
        seen.add(r.name);
        console.log(`  ! ${r.name}${r.failure ? '' : `, c=${r.concurrency}`}: ${r.failure ? 'could not start or call' : `${r.failed} of ${r.failed + r.calls} calls failed`}: ${r.error}`);
      }
    };
    console.log(`\nmcp — one trivial read-only tool call (twl: ${TWL_TOOL[0]}; baselines: echo), ${seconds} s per case (TWL_BENCH_MCP_SECONDS) in ${SLICES} interleaved slices, node ${process.version}, ${os.cpus().length} cores`);
    table('stdio (SDK 1.x client)', 'stdio', [['SDK 1.x', 'sdk1']]);
    table('Streamable HTTP (keep-alive client)', 'http', [
      ['floor', 'raw', 'floor'],
      ['SDK 1.x', 'sdk1'],
      ['SDK 2.x', 'sdk2'],
    ]);
    for (const child of children.filter((c) => c.died)) console.log(`  ! ${child.died}`);
    console.log(`  session: ${LEGACY} initialize once, then Mcp-Session-Id; stateless: a bare tools/call POST, no session; ${REVISION}: no handshake, no session, a _meta envelope per request`);
    if (mem.failure) console.log(`\nmemory — twl serve --http under c=32 load, ${mem.seconds} s: FAILED: ${mem.failure}`);
    else {
      console.log(`\nmemory — twl serve --http under c=32 load (session, stateless and ${REVISION} calls mixed), ${mem.seconds} s (TWL_BENCH_MCP_MEMORY_SECONDS): ${Math.round(mem.perSecond)} calls/s, ${mem.failed} failed${mem.failed ? ` (${mem.firstError})` : ''}`);
      console.log(`RSS   ${mem.samples.map((s) => `${s.t} s: ${s.mb.toFixed(0)} MB`).join('   ')}`);
    }
    console.log('\ngoals');
    for (const g of goals) console.log(`${g.label.padEnd(58)}${(g.ratio === undefined ? '—' : pc(g.ratio)).padStart(6)}   ${g.met === null ? `not measured: ${g.why}` : g.met ? 'met' : 'MISSED'}`);
    const memLabel = `memory: RSS at the end within 10% of RSS at ${mem.samples?.[0].t ?? 10} s`;
    if (mem.failure) console.log(`${memLabel.padEnd(58)}${'—'.padStart(6)}   not measured: ${mem.failure}`);
    else console.log(`${memLabel.padEnd(58)}${pc(mem.ratio).padStart(6)}   ${mem.failed ? `not measured: ${mem.failed} calls failed` : mem.flat ? 'met' : 'MISSED'}`);
  }
  return { rows, goals, memory: mem, died: children.filter((c) => c.died).map((c) => c.died) };
}
