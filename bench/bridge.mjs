// `npm run bench -- bridge`: the same stdio upstream (@modelcontextprotocol/server-everything,
// its `echo` tool) called directly over stdio (the floor) and through the HTTP bridges: mcp-proxy
// (session, 2026-07-28, and --stateless), supergateway (--stateful, and its default stateless
// mode) and twl bridge (a 2025 session, 2025 stateless, 2026-07-28, and its REST face), at
// c=1 and c=32, every case in slices interleaved with the others because these machines are
// noisy. Per case: calls/s, p50, p99, failed calls. Per bridge: how many upstream processes ran
// during the load, were left 3 s after it (the bridge still up, its sessions abandoned without
// DELETE) and were left 3 s after a SIGKILL of the bridge itself. An upstream process is found by
// a marker in its command line (a `--require` of an empty per-bridge file), so a child that was
// re-parented or moved to another process group is still counted.
// Then twl bridge's RSS under c=32 load for TWL_BENCH_BRIDGE_MEMORY_SECONDS (60), at 10 s and at the end;
// and twl bridge's upstream child SIGKILLed with 32 calls in flight: how long until every call has
// its error, and from the respawn until a call succeeds again.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { REVISION, agent, freePort, http2026, httpCall, httpSession, httpStateless, measured, newTally, post, rssUnderLoad, slice, stdioClient, toolCall } from './mcp.mjs';

const seconds = Number(process.env.TWL_BENCH_BRIDGE_SECONDS ?? 4);
const memorySeconds = Number(process.env.TWL_BENCH_BRIDGE_MEMORY_SECONDS ?? 60);
const SLICES = 4;
const CONCURRENCY = [1, 32];
const ECHO = ['echo', { message: 'ok' }];


/** Resolves once something accepts connections on the port, or rejects after `ms` (or when the process exits). */
async function listening(port, child, ms = 60_000) {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`exited (${child.exitCode ?? child.signalCode}) before it listened: ${child.tail}`);
    const open = await new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    });
    if (open) return;
    await sleep(100);
  }
  throw new Error(`nothing listened on ${port} in ${ms / 1000} s: ${child.tail}`);
}

/**
 * Pids of the processes that have `marker` as one of their arguments: the upstream servers
 * themselves, not a shell that started one (`sh -c "node --require <marker> …"`), nor the bridges
 * (`except`), whose own arguments name the upstream's command.
 */
function processesWith(marker, except = new Set()) {
  const pids = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || except.has(Number(entry))) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').includes(marker)) pids.push(Number(entry));
    } catch {
      // Gone between the listing and the read.
    }
  }
  return pids;
}

/** Starts a bridge, keeping the tail of its output (a full pipe would stall it) to explain a failure. */
function launch(children, command, args, options) {
  const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  child.tail = '';
  const keep = (d) => (child.tail = (child.tail + d).slice(-2000));
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  child.once('exit', (code, signal) => {
    if (!child.stopping) child.died = `${path.basename(args[0] ?? command)} exited (${code ?? signal}) during the run: ${child.tail.trim().slice(-500)}`;
  });
  return child;
}

/** Starts `twl bridge <args>` on a free port; resolves with the process and its base URL, once it says it serves. */
async function startTwl(children, node, bin, bridgeArgs, options) {
  const child = launch(children, node, [bin, 'bridge', '--port', '0', ...bridgeArgs], options);
  const base = await new Promise((resolve, reject) => {
    const timer = setInterval(() => {
      const m = /serves MCP at (http:\/\/\S+)\/mcp/.exec(child.tail);
      if (m) resolve(m[1]);
      else if (child.exitCode !== null || child.signalCode !== null) reject(new Error(`twl bridge exited (${child.exitCode ?? child.signalCode}): ${child.tail}`));
      else return;
      clearInterval(timer);
    }, 50);
  });
  return { child, base };
}

/** The REST face of twl bridge: POST /mcp/tools/call with the tool's name and arguments. */
function restCall(base, [name, args]) {
  return async () => {
    const r = await post(`${base}/mcp/tools/call`, { name, arguments: args }, { accept: 'application/json' });
    if (r.status !== 200) throw new Error(`HTTP ${r.status}: ${r.body.slice(0, 200)}`);
    const body = JSON.parse(r.body);
    if (body.isError || !Array.isArray(body.content) || !body.content.length) throw new Error(`not a successful result: ${r.body.slice(0, 200)}`);
  };
}

export async function bridge({ root, bin, node, json = false }) {
  const work = mkdtempSync(path.join(os.tmpdir(), 'twl-bench-bridge-'));
  const everything = path.join(root, 'node_modules/@modelcontextprotocol/server-everything/dist/index.js');
  const binOf = (name) => path.join(root, 'node_modules/.bin', name);
  /** The upstream command for one bridge: server-everything over stdio, marked for counting. */
  const upstream = (label) => {
    const marker = path.join(work, `upstream-of-${label}.cjs`);
    writeFileSync(marker, '// marks the upstream processes of one benchmarked bridge\n');
    return { marker, argv: [node, '--require', marker, everything, 'stdio'] };
  };
  const home = path.join(work, 'twl-home');
  mkdirSync(home);
  // twl bridge keyless and without rate limits here, like the peers (they have neither by default).
  writeFileSync(path.join(home, '.twlrc.json'), JSON.stringify({ http: { auth: 'none', rateLimit: { ip: { capacity: 1e9, refillPerMinute: 1e9 } } } }));
  const env = { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TWL_'))), TWL_HOME: home, HOME: home };
  const children = [];
  const clients = [];

  // A bridge: how to start it (resolving with its base URL), and the upstream it fronts.
  const bridges = [];
  const addBridge = (label, up, run) => {
    const b = { label, ...up, run, child: undefined, url: undefined };
    b.ready = () => (b.starting ??= run(b));
    bridges.push(b);
    return b;
  };
  const onPort = (argsFor) => async (b) => {
    const port = await freePort();
    const [command, ...args] = argsFor(port, b);
    b.child = launch(children, command, args, { env, cwd: work });
    await listening(port, b.child);
    return `http://127.0.0.1:${port}`;
  };
  const direct = { label: 'direct', ...upstream('direct') };
  const mcpProxy = addBridge('mcp-proxy', upstream('mcp-proxy'), onPort((port, b) => [binOf('mcp-proxy'), '--port', String(port), '--host', '127.0.0.1', '--server', 'stream', '--', ...b.argv]));
  const mcpProxyStateless = addBridge('mcp-proxy-stateless', upstream('mcp-proxy-stateless'), onPort((port, b) => [binOf('mcp-proxy'), '--port', String(port), '--host', '127.0.0.1', '--server', 'stream', '--stateless', '--', ...b.argv]));
  const sgStateful = addBridge('supergateway-stateful', upstream('supergateway-stateful'), onPort((port, b) => [binOf('supergateway'), '--stdio', b.argv.join(' '), '--outputTransport', 'streamableHttp', '--stateful', '--port', String(port), '--logLevel', 'none']));
  const sgStateless = addBridge('supergateway-stateless', upstream('supergateway-stateless'), onPort((port, b) => [binOf('supergateway'), '--stdio', b.argv.join(' '), '--outputTransport', 'streamableHttp', '--port', String(port), '--logLevel', 'none']));
  const twlAvailable = (() => {
    try {
      return readdirSync(path.join(root, 'dist/commands')).includes('bridge.js');
    } catch {
      return false;
    }
  })();
  const twl = twlAvailable
    ? addBridge('twl-bridge', upstream('twl-bridge'), async (b) => {
        const started = await startTwl(children, node, bin, ['--', ...b.argv], { env, cwd: home });
        b.child = started.child;
        return started.base;
      })
    : undefined;

  // Each series: one bridge and one way of calling it, measured at every concurrency.
  const series = [];
  const add = (bridgeLabel, kind, name, setup) => series.push({ bridge: bridgeLabel, kind, name, setup });
  add('direct', 'stdio', 'direct stdio, SDK 1.x client (floor)', () => stdioClient(clients, direct.argv[0], direct.argv.slice(1), { env, cwd: work }, ECHO));
  add('mcp-proxy', 'session', 'mcp-proxy, session', async () => httpSession(`${await mcpProxy.ready()}/mcp`, ECHO));
  add('mcp-proxy', '2026', `mcp-proxy, ${REVISION}`, async () => http2026(`${await mcpProxy.ready()}/mcp`, ECHO));
  add('mcp-proxy-stateless', 'stateless', 'mcp-proxy --stateless', async () => httpStateless(`${await mcpProxyStateless.ready()}/mcp`, ECHO));
  add('supergateway-stateful', 'session', 'supergateway --stateful, session', async () => httpSession(`${await sgStateful.ready()}/mcp`, ECHO));
  add('supergateway-stateless', 'stateless', 'supergateway (stateless default)', async () => {
    const url = `${await sgStateless.ready()}/mcp`;
    let id = 1;
    // It answers a bare call by starting a child and initializing it for that one request.
    return () => httpCall(url, toolCall(id++, ECHO), {});
  });
  if (twl) {
    add('twl-bridge', 'session', 'twl bridge, session', async () => httpSession(`${await twl.ready()}/mcp`, ECHO));
    add('twl-bridge', 'stateless', 'twl bridge, stateless', async () => httpStateless(`${await twl.ready()}/mcp`, ECHO));
    add('twl-bridge', '2026', `twl bridge, ${REVISION}`, async () => http2026(`${await twl.ready()}/mcp`, ECHO));
    add('twl-bridge', 'rest', 'twl bridge, REST /mcp/tools/call', async () => restCall(await twl.ready(), ECHO));
  }

  const all = [direct, ...bridges];
  const during = new Map(all.map((b) => [b.label, 0]));
  const bridgePids = () => new Set(children.map((c) => c.pid));
  const upstreams = (b) => processesWith(b.marker, bridgePids()).length;
  const sampleProcesses = () => {
    for (const b of all) during.set(b.label, Math.max(during.get(b.label), upstreams(b)));
  };
  const cases = [];
  let mem;
  let crash;
  const leftAfterLoad = new Map();
  const leftAfterKill = new Map();
  const sampler = setInterval(sampleProcesses, 250);
  try {
    for (const s of series) {
      try {
        s.call = await s.setup();
        // Warm-up, and a check that the call works at all (supergateway's default pays a child per call).
        for (let i = 0; i < (s.bridge === 'supergateway-stateless' ? 2 : 50); i++) await s.call();
      } catch (err) {
        s.failure = err.message;
      }
      for (const c of CONCURRENCY) cases.push({ ...s, concurrency: c, tally: newTally() });
    }
    for (let i = 0; i < SLICES; i++) for (const c of cases) if (!c.failure) await slice(c.call, c.concurrency, (seconds * 1000) / SLICES, c.tally);
    clearInterval(sampler);
    sampleProcesses();
    // The load is over; the HTTP sessions are abandoned (no DELETE), as most clients do.
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    agent.destroy();
    await sleep(3000);
    for (const b of all) leftAfterLoad.set(b.label, upstreams(b));
    // Then each bridge is killed outright (SIGKILL: no chance to clean up).
    for (const b of bridges) {
      if (!b.child || b.child.exitCode !== null || b.child.signalCode !== null) continue;
      b.child.stopping = true;
      b.child.kill('SIGKILL');
    }
    await sleep(3000);
    for (const b of all) leftAfterKill.set(b.label, upstreams(b));
    if (twl) {
      try {
        mem = await memory(upstream('twl-bridge-memory'), { children, node, bin, env, home });
      } catch (err) {
        mem = { seconds: memorySeconds, failure: err.message };
      }
      try {
        crash = await crashRecovery(upstream('twl-bridge-crash'), { children, node, bin, env, work });
      } catch (err) {
        crash = { failure: err.message };
      }
    }
  } finally {
    clearInterval(sampler);
    for (const child of children) {
      if (child.exitCode !== null || child.signalCode !== null) continue;
      child.stopping = true;
      child.kill('SIGKILL');
    }
    // What the bridges left behind is ended here, so the bench itself leaks nothing.
    await sleep(500);
    for (const b of [...all, ...['memory', 'crash'].map((phase) => ({ marker: path.join(work, `upstream-of-twl-bridge-${phase}.cjs`) }))]) for (const pid of processesWith(b.marker, bridgePids())) process.kill(pid, 'SIGKILL');
    rmSync(work, { recursive: true, force: true });
  }

  const rows = cases.map(({ bridge: b, kind, name, concurrency, failure, tally }) => ({ bridge: b, kind, name, concurrency, ...measured(tally, failure) }));
  const processes = all.map((b) => ({ bridge: b.label, during: during.get(b.label), afterLoad: leftAfterLoad.get(b.label), afterKill: leftAfterKill.get(b.label) }));
  const find = (b, kind, c) => rows.find((r) => r.bridge === b && r.kind === kind && r.concurrency === c);
  const goals = [];
  if (twl) {
    for (const c of CONCURRENCY) {
      // Like for like: twl's session against mcp-proxy's session, and the same for 2026-07-28.
      for (const kind of ['session', '2026']) {
        const ours = find('twl-bridge', kind, c);
        const theirs = find('mcp-proxy', kind, c);
        const measured = ours && theirs && !ours.error && !theirs.error;
        const why = ours?.error ? `twl bridge failed: ${ours.error}` : `mcp-proxy failed: ${theirs?.error}`;
        goals.push({ label: `c=${c}, ${kind}: twl bridge calls/s ≥ 3× mcp-proxy's`, value: measured ? ours.perSecond / theirs.perSecond : undefined, met: measured ? ours.perSecond >= 3 * theirs.perSecond : null, ...(measured ? {} : { why }) });
        goals.push({ label: `c=${c}, ${kind}: twl bridge p99 ≤ ½ mcp-proxy's`, value: measured ? ours.p99 / theirs.p99 : undefined, met: measured ? ours.p99 <= theirs.p99 / 2 : null, ...(measured ? {} : { why }) });
      }
    }
    const t = processes.find((p) => p.bridge === 'twl-bridge');
    goals.push({ label: 'twl bridge: no upstream process left after the load and after SIGKILL', value: undefined, met: t.afterLoad <= t.during && t.afterKill === 0, detail: `${t.during} during, ${t.afterLoad} after, ${t.afterKill} after SIGKILL` });
    if (crash && !crash.failure) {
      goals.push({ label: 'twl bridge: child SIGKILLed, 32 calls in flight: each errors ≤ 1 s', value: undefined, met: crash.errored === 32 && crash.lastErrorMs <= 1000, detail: `${crash.errored} of 32 errored (${crash.codes}), the last ${crash.lastErrorMs.toFixed(0)} ms after the kill` });
      goals.push({ label: 'twl bridge: next call succeeds ≤ 2 s after the respawn', value: undefined, met: crash.successAfterRespawnMs <= 2000, detail: `${crash.successAfterRespawnMs.toFixed(0)} ms after the new child appeared, ${crash.successAfterKillMs.toFixed(0)} ms after the kill` });
    }
    if (mem && !mem.failure) goals.push({ label: `twl bridge: RSS at ${mem.samples.at(-1).t} s within 10% of RSS at ${mem.samples[0].t} s`, value: mem.ratio, met: mem.failed ? null : mem.flat, ...(mem.failed ? { why: `${mem.failed} calls failed` } : {}) });
  }
  if (!json) {
    const pc = (x) => (x === undefined ? '' : `${(x * 100).toFixed(0)}%`);
    console.log(`\nbridge — server-everything's echo over stdio, directly and through HTTP bridges; ${seconds} s per case (TWL_BENCH_BRIDGE_SECONDS) in ${SLICES} interleaved slices, node ${process.version}, ${os.cpus().length} cores`);
    console.log(`${'case'.padEnd(40)}${'c'.padStart(4)}${'calls/s'.padStart(10)}${'p50 ms'.padStart(10)}${'p99 ms'.padStart(10)}${'failed'.padStart(8)}${'vs floor'.padStart(10)}${'vs mcp-proxy'.padStart(14)}`);
    for (const r of rows) {
      if (r.failure) {
        console.log(`${r.name.padEnd(40)}${String(r.concurrency).padStart(4)}   FAILED, not measured`);
        continue;
      }
      const floor = find('direct', 'stdio', r.concurrency);
      const proxy = find('mcp-proxy', 'session', r.concurrency);
      const vs = (base) => (base && !base.failure ? pc(r.perSecond / base.perSecond) : '');
      console.log(`${r.name.padEnd(40)}${String(r.concurrency).padStart(4)}${Math.round(r.perSecond).toString().padStart(10)}${r.p50.toFixed(2).padStart(10)}${r.p99.toFixed(2).padStart(10)}${String(r.failed).padStart(8)}${vs(floor).padStart(10)}${vs(proxy).padStart(14)}`);
    }
    const seen = new Set();
    for (const r of rows.filter((x) => x.error)) {
      if (r.failure && seen.has(r.name)) continue;
      seen.add(r.name);
      console.log(`  ! ${r.name}${r.failure ? '' : `, c=${r.concurrency}`}: ${r.failure ? 'could not start or call' : `${r.failed} of ${r.failed + r.calls} calls failed`}: ${r.error}`);
    }
    for (const child of children.filter((c) => c.died)) console.log(`  ! ${child.died}`);
    if (!twl) console.log('  (twl bridge is not built: dist/commands/bridge.js is missing, so it is left out)');
    console.log(`\nupstream processes (by a marker in their command line)${''.padEnd(4)}${'during'.padStart(8)}${'after'.padStart(8)}${'after SIGKILL'.padStart(15)}`);
    for (const p of processes) console.log(`${p.bridge.padEnd(58)}${String(p.during).padStart(8)}${String(p.afterLoad).padStart(8)}${String(p.afterKill).padStart(15)}`);
    console.log('  during: most seen at once under load; after: 3 s after the load, sessions abandoned without DELETE, the bridge still up; after SIGKILL: 3 s after the bridge was killed');
    if (mem?.failure) console.log(`\nmemory — twl bridge under c=32 load, ${mem.seconds} s: FAILED: ${mem.failure}`);
    else if (mem) {
      console.log(`\nmemory — twl bridge under c=32 load (session, stateless, ${REVISION} and REST calls mixed), ${mem.seconds} s (TWL_BENCH_BRIDGE_MEMORY_SECONDS): ${Math.round(mem.perSecond)} calls/s, ${mem.failed} failed${mem.failed ? ` (${mem.firstError})` : ''}`);
      console.log(`RSS   ${mem.samples.map((s) => `${s.t} s: ${s.mb.toFixed(0)} MB`).join('   ')}`);
    }
    if (crash?.failure) console.log(`\ncrash — twl bridge's child SIGKILLed with 32 calls in flight: FAILED: ${crash.failure}`);
    if (goals.length) {
      console.log('\ngoals');
      for (const g of goals) console.log(`${g.label.padEnd(64)}${(g.value === undefined ? '' : g.label.includes('p99') || g.label.includes('RSS') ? `${g.value.toFixed(2)}×` : `${g.value.toFixed(2)}×`).padStart(8)}   ${g.met === null ? `not measured: ${g.why}` : g.met ? 'met' : 'MISSED'}${g.detail ? ` (${g.detail})` : ''}`);
    }
  }
  return { rows, processes, goals, memory: mem, crash, died: children.filter((c) => c.died).map((c) => c.died) };
}

/** twl bridge under c=32 load for `memorySeconds`, calls mixed over its faces; RSS of the bridge every 10 s. */
async function memory(up, { children, node, bin, env, home }) {
  const { child, base } = await startTwl(children, node, bin, ['--', ...up.argv], { env, cwd: home });
  const url = `${base}/mcp`;
  const calls = [await httpSession(url, ECHO), httpStateless(url, ECHO), http2026(url, ECHO), restCall(base, ECHO)];
  const result = await rssUnderLoad(child.pid, calls, memorySeconds);
  child.stopping = true;
  child.kill('SIGTERM');
  return result;
}

/**
 * twl bridge (an `upstreams:` entry with retries off, so no call is retried on the new child)
 * with 32 calls of server-everything's trigger-long-running-operation in flight, each with its own
 * arguments (no single flight); the child is SIGKILLed. Measured: when each call got its answer
 * (an error, 503) after the kill, when the new child's process appeared, and when a call (echo,
 * repeated from the moment the last error came) first succeeded.
 */
async function crashRecovery(up, { children, node, bin, env, work }) {
  const home = path.join(work, 'twl-home-crash');
  mkdirSync(home);
  const [command, ...args] = up.argv;
  writeFileSync(path.join(home, '.twlrc.json'), JSON.stringify({ http: { auth: 'none', rateLimit: { ip: { capacity: 1e9, refillPerMinute: 1e9 } } }, upstreams: [{ name: 'ev', transport: 'stdio', command, args, retries: 0, approval: 'never', timeout: '120s' }] }));
  const { child, base } = await startTwl(children, node, bin, ['--upstream', 'ev'], { env: { ...env, TWL_HOME: home, HOME: home }, cwd: home });
  const except = () => new Set(children.map((c) => c.pid));
  try {
    await restCall(base, ECHO)();
    const [first] = processesWith(up.marker, except());
    if (!first) throw new Error('no upstream child found');
    const settled = [];
    const calls = Array.from({ length: 32 }, (_, i) =>
      post(`${base}/mcp/tools/call`, { name: 'trigger-long-running-operation', arguments: { duration: 100 + i, steps: 1 } }, { accept: 'application/json' }).then(
        (r) => settled.push({ at: performance.now(), status: r.status, code: r.status === 200 ? 'ok' : JSON.parse(r.body).error?.code }),
        (err) => settled.push({ at: performance.now(), status: 0, code: err.message }),
      ),
    );
    const until = performance.now() + 30_000;
    for (;;) {
      const r = await fetch(`${base}/mcp/status`);
      if ((await r.json()).queue.processing >= 32) break;
      if (performance.now() > until) throw new Error('32 calls never were in flight at once');
      await sleep(50);
    }
    const killedAt = performance.now();
    process.kill(first, 'SIGKILL');
    // The new child's process, watched from the kill on.
    let respawnAt;
    const watching = (async () => {
      while (respawnAt === undefined && performance.now() - killedAt < 30_000) {
        if (processesWith(up.marker, except()).some((pid) => pid !== first)) respawnAt = performance.now();
        else await sleep(5);
      }
    })();
    await Promise.all(calls);
    let successAt;
    const next = restCall(base, ECHO);
    while (successAt === undefined && performance.now() - killedAt < 30_000) {
      try {
        await next();
        successAt = performance.now();
      } catch {
        await sleep(5);
      }
    }
    await watching;
    if (successAt === undefined || respawnAt === undefined) throw new Error(`no call succeeded (or no new child appeared) within 30 s of the kill`);
    const errors = settled.filter((s) => s.status !== 200);
    return {
      errored: errors.length,
      codes: [...new Set(settled.map((s) => s.code))].join(', '),
      lastErrorMs: Math.max(...settled.map((s) => s.at)) - killedAt,
      successAfterRespawnMs: successAt - respawnAt,
      successAfterKillMs: successAt - killedAt,
    };
  } finally {
    child.stopping = true;
    child.kill('SIGTERM');
  }
}
