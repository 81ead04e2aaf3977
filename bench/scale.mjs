// `npm run bench -- scale`: what running twl as replicas costs and whether a rolling restart loses calls.
// 1. Shared state: one `twl serve --http` whose keys and store are on PostgreSQL and whose rate
//    limits are in Redis, against a lone replica with the embedded store and in-process limits
//    (the baseline), both with API keys, at c=32 in the 2026-07-28 mode, in interleaved slices.
//    Goal: the shared one keeps at least 80% of the lone one's calls per second.
// 2. Rolling restart: 3 replicas (PostgreSQL + Redis) behind Debian's nginx with deploy/nginx.conf,
//    under c=16 load; each replica in turn gets SIGTERM, exits, and starts again. Every answer is
//    counted: a success, a 503 with Retry-After (a client may retry it), or a failure. Goal: 0
//    failures. The same load without restarts, measured just before, is the baseline.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { replicasConf } from '../deploy/nginx/replicas.mjs';
import { http2026, newTally, pct, slice, start, stop } from './mcp.mjs';

const SECONDS = Number(process.env.TWL_BENCH_SCALE_SECONDS ?? 4);
const SLICES = 4;
const TOOL = ['sentiment-analyzer_analyze_sentiment', { text: 'ok' }];
const POSTGRES = process.env.TWL_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS = process.env.TWL_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const NGINX = '/usr/sbin/nginx';

const freePort = () =>
  new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

const reachable = (port) =>
  new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });

async function sql(text) {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: POSTGRES });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

/** A plain POST that reports the status and Retry-After instead of throwing on them (for the restart count). */
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
function post(url, body, headers) {
  return new Promise((resolve) => {
    const req = http.request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers } }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, retryAfter: res.headers['retry-after'], body: Buffer.concat(chunks).toString() }));
      res.on('error', (err) => resolve({ status: 0, body: err.message }));
    });
    req.setTimeout(30_000, () => req.destroy(new Error('no answer in 30 s')));
    req.on('error', (err) => resolve({ status: 0, body: err.message }));
    req.end(JSON.stringify(body));
  });
}

export async function scale({ root, bin, node, json = false }) {
  if (!existsSync(path.join(root, 'dist'))) spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
  const dir = mkdtempSync(path.join(os.tmpdir(), 'twl-bench-scale-'));
  const database = `twl_bench_scale_${process.pid}`;
  const databaseUrl = POSTGRES.replace(/\/[^/]*$/, `/${database}`);
  const baseEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TWL_')));
  // Limits far above what the bench sends: it measures their cost, not their refusals.
  const configFile = path.join(dir, 'twl.config.json');
  writeFileSync(configFile, JSON.stringify({ http: { rateLimit: { key: { capacity: 1e9, refillPerMinute: 1e9 } } } }));
  const lone = { ...baseEnv, TWL_HOME: path.join(dir, 'lone'), HOME: path.join(dir, 'lone'), TWL_CONFIG: configFile };
  const shared = { ...baseEnv, TWL_HOME: path.join(dir, 'shared'), HOME: path.join(dir, 'shared'), TWL_CONFIG: configFile, TWL_DATABASE_URL: databaseUrl, TWL_REDIS_URL: REDIS, TWL_REDIS_PREFIX: `twl-bench-scale-${process.pid}:` };
  const keyFor = (env) => JSON.parse(execFileSync(node, [bin, 'keys', 'create', '--role', 'viewer', '--name', 'bench', '--json'], { env, encoding: 'utf8' })).result.key;
  const children = [];
  const out = {};
  await sql(`CREATE DATABASE ${database}`);
  try {
    // 1. Shared state against the lone replica.
    const serve = (env, port = 0) => start(children, node, [bin, 'serve', '--http', '--port', String(port)], { env, cwd: dir }, /serves MCP at (http:\/\/\S+)\/mcp/).then(([, base]) => base);
    const series = [];
    for (const [name, env] of [
      ['lone replica: embedded store, in-process limits (baseline)', lone],
      ['one replica of many: keys and store on PostgreSQL, limits in Redis', shared],
    ]) {
      mkdirSync(env.TWL_HOME, { recursive: true });
      const key = keyFor(env);
      const base = await serve(env);
      const call = http2026(`${base}/mcp`, TOOL, { authorization: `Bearer ${key}` });
      for (let i = 0; i < 200; i++) await call();
      series.push({ name, call, tally: newTally() });
    }
    for (let s = 0; s < SLICES; s++) for (const c of series) await slice(c.call, 32, (SECONDS * 1000) / SLICES, c.tally);
    const rows = series.map((c) => ({ name: c.name, perSecond: c.tally.latencies.length / (c.tally.ms / 1000), p50: pct(c.tally.latencies, 0.5), p99: pct(c.tally.latencies, 0.99), failed: c.tally.failed, firstError: c.tally.firstError }));
    const ratio = rows[1].perSecond / rows[0].perSecond;
    out.sharedState = { rows, ratio, goal: 0.8, met: ratio >= 0.8 && rows.every((r) => r.failed === 0) };
    for (const child of children.splice(0)) await stop(child);

    // 2. Rolling restart behind nginx.
    if (!existsSync(NGINX)) {
      out.rollingRestart = { skipped: 'nginx is not installed (apt-get install nginx)' };
    } else {
      const key = keyFor(shared);
      const replicas = [];
      for (const name of ['r1', 'r2', 'r3']) {
        const port = await freePort();
        const env = { ...shared, TWL_REPLICA: name, TWL_HOME: path.join(dir, name), HOME: path.join(dir, name) };
        mkdirSync(env.TWL_HOME, { recursive: true });
        replicas.push({ name, port, env, child: undefined });
      }
      const launch = async (r) => {
        const before = children.length;
        await serve(r.env, r.port);
        r.child = children[before];
      };
      await Promise.all(replicas.map(launch));
      const lbDir = path.join(dir, 'nginx');
      mkdirSync(path.join(lbDir, 'tmp'), { recursive: true });
      const lbPort = await freePort();
      writeFileSync(path.join(lbDir, 'nginx.conf'), readFileSync(path.join(root, 'deploy', 'nginx.conf'), 'utf8').replace('listen 8080;', `listen 127.0.0.1:${lbPort};`));
      writeFileSync(path.join(lbDir, 'twl-replicas.conf'), replicasConf(replicas.map((r) => ({ name: r.name, address: `127.0.0.1:${r.port}` }))));
      const check = spawnSync(NGINX, ['-p', lbDir, '-c', path.join(lbDir, 'nginx.conf'), '-t'], { encoding: 'utf8' });
      if (check.status !== 0) throw new Error(`nginx refused the configuration: ${check.stderr}`);
      // In the foreground, as this process's child: stopped below with SIGQUIT (graceful).
      const nginx = spawn(NGINX, ['-p', lbDir, '-c', path.join(lbDir, 'nginx.conf'), '-g', 'daemon off;'], { stdio: 'ignore' });
      try {
        for (let i = 0; i < 50 && !(await reachable(lbPort)); i++) await sleep(100);
        const meta = { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientInfo': { name: 'bench', version: '1' }, 'io.modelcontextprotocol/clientCapabilities': {} };
        const body = { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: TOOL[0], arguments: TOOL[1], _meta: meta } };
        const headers = { authorization: `Bearer ${key}`, 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/call', 'mcp-name': TOOL[0] };
        const load = async (whileRunning) => {
          const counts = { ok: 0, retryable503: 0, failed: 0, firstFailure: undefined };
          let running = true;
          const worker = async () => {
            while (running) {
              const r = await post(`http://127.0.0.1:${lbPort}/mcp`, body, headers);
              if (r.status === 200 && r.body.includes('"structuredContent"')) counts.ok++;
              else if (r.status === 503 && r.retryAfter) counts.retryable503++;
              else {
                counts.failed++;
                counts.firstFailure ??= `${r.status} ${r.body.slice(0, 200)}`;
              }
            }
          };
          const started = performance.now();
          const workers = Array.from({ length: 16 }, worker);
          await whileRunning();
          running = false;
          await Promise.all(workers);
          return { ...counts, seconds: (performance.now() - started) / 1000, perSecond: counts.ok / ((performance.now() - started) / 1000) };
        };
        const steady = await load(() => sleep(10_000));
        const restart = await load(async () => {
          for (const r of replicas) {
            await stop(r.child);
            await launch(r);
            // Let nginx's fail_timeout pass so the restarted replica is back in rotation.
            await sleep(2_500);
          }
        });
        out.rollingRestart = { steady, restart, goal: 'no failure other than 503 + Retry-After', met: restart.failed === 0 };
      } finally {
        const exited = new Promise((r) => nginx.once('exit', r));
        nginx.kill('SIGQUIT');
        await exited;
      }
    }
  } finally {
    for (const child of children) await stop(child);
    await sql(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
  if (!json) {
    const s = out.sharedState;
    console.log(`\nscale — shared state, c=32, 2026-07-28, ${SECONDS} s each in ${SLICES} interleaved slices; node ${process.version}, ${os.cpus().length} cores`);
    for (const r of s.rows) console.log(`${r.name.padEnd(72)}${`${Math.round(r.perSecond)} calls/s`.padStart(16)}  p50 ${r.p50.toFixed(1)} ms  p99 ${r.p99.toFixed(1)} ms  failed ${r.failed}${r.firstError ? ` (${r.firstError})` : ''}`);
    console.log(`shared / lone: ${s.ratio.toFixed(2)}×   goal ≥ ${s.goal}×  ${s.met ? 'met' : 'MISSED'}`);
    const rr = out.rollingRestart;
    if (rr.skipped) console.log(`rolling restart: skipped, ${rr.skipped}`);
    else {
      console.log('\nrolling restart of 3 replicas behind nginx (deploy/nginx.conf), c=16, 2026-07-28');
      for (const [name, c] of [['steady, no restart (baseline)', rr.steady], ['restarting r1, r2, r3 in turn', rr.restart]]) console.log(`${name.padEnd(40)}${`${c.seconds.toFixed(1)} s`.padStart(8)}${`${Math.round(c.perSecond)} calls/s`.padStart(16)}  ok ${c.ok}  503+Retry-After ${c.retryable503}  failed ${c.failed}${c.firstFailure ? ` (${c.firstFailure})` : ''}`);
      console.log(`goal: ${rr.goal}  ${rr.met ? 'met' : 'MISSED'}`);
    }
  }
  if (!out.sharedState.met || out.rollingRestart.met === false) process.exitCode = 1;
  return out;
}
