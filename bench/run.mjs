// twl benchmarks: `npm run bench -- <suite>`. Every figure is a ratio against a baseline
// measured in the same run, interleaved with it, because these machines are noisy.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { bridge } from './bridge.mjs';
import { dash } from './dash.mjs';
import { docsBench } from './docs.mjs';
import { fuzz, fuzzConfig, saveFindings } from './fuzz.mjs';
import { mcp } from './mcp.mjs';
import { hostMemory } from './memory.mjs';
import { hub } from './hub.mjs';
import { tasks } from './tasks.mjs';
import { upstream } from './upstream.mjs';
import { scale } from './scale.mjs';

const root = path.resolve(import.meta.dirname, '..');
const bin = path.join(root, 'bin', 'run.js');
const node = process.execPath;

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    runs: { type: 'string', default: '30' },
    warmup: { type: 'string', default: '3' },
    json: { type: 'boolean', default: false },
    seed: { type: 'string' },
    seconds: { type: 'string', default: '120' },
  },
});
const runs = Number(values.runs);
const warmup = Number(values.warmup);

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const quantile = (xs, q) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))];

function time(cmd, args, env, cwd) {
  const started = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { env, cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return ms;
}

/** Runs every case round-robin (so drift hits all alike) and returns medians. */
function measure(cases) {
  for (let i = 0; i < warmup; i++) for (const c of cases) time(c.cmd, c.args, c.env, c.cwd);
  const samples = new Map(cases.map((c) => [c.name, []]));
  for (let i = 0; i < runs; i++) for (const c of cases) samples.get(c.name).push(time(c.cmd, c.args, c.env, c.cwd));
  return cases.map((c) => {
    const xs = samples.get(c.name);
    return { name: c.name, median: median(xs), p90: quantile(xs, 0.9), goal: c.goal };
  });
}

const reachable = (port) =>
  new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });

/** Ratios against the baseline row (the goals), and against a second one for reference when given. */
function report(title, rows, baseline, reference) {
  const base = rows.find((r) => r.name === baseline).median;
  const ref = reference === undefined ? undefined : rows.find((r) => r.name === reference).median;
  const out = rows.map((r) => ({ ...r, ratio: r.median / base, ...(ref ? { ratioToReference: r.median / ref } : {}), met: r.goal === undefined ? null : r.median / base <= r.goal }));
  if (values.json) return out;
  console.log(`\n${title} — ${runs} runs each after ${warmup} warm-up, interleaved; bench on node ${process.version}, ${os.cpus().length} cores`);
  console.log(`${'case'.padEnd(60)}${'median'.padStart(10)}${'p90'.padStart(10)}${'ratio'.padStart(9)}${ref ? '  (vs 2nd)' : ''}   goal`);
  for (const r of out) {
    const goal = r.goal === undefined ? '' : `≤ ${r.goal}×  ${r.met ? 'met' : 'MISSED'}`;
    const second = ref ? `${`(${r.ratioToReference.toFixed(2)}×)`.padStart(10)}` : '';
    console.log(`${r.name.padEnd(60)}${`${r.median.toFixed(1)} ms`.padStart(10)}${`${r.p90.toFixed(1)} ms`.padStart(10)}${`${r.ratio.toFixed(2)}×`.padStart(9)}${second}   ${goal}`);
  }
  return out;
}

/** PATH as a user has it: without the node_modules/.bin folders that npm run puts first. */
const userPath = (process.env.PATH ?? '').split(path.delimiter).filter((d) => d && !d.split(path.sep).includes('node_modules'));
const onUserPath = (program) => userPath.map((d) => path.join(d, program)).find((f) => existsSync(f));

const suites = {
  /**
   * Start-up as the README has people run twl: the `twl` that its set-up (`npm ci && npm link`)
   * puts on PATH, here linked into a private npm prefix, started from another folder with the
   * system's Node.js first on PATH. The baseline is that system `node -e 0`, in the same run.
   */
  async startup() {
    if (!existsSync(path.join(root, 'dist', 'root-help.txt'))) spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
    const systemNode = onUserPath('node');
    const npm = onUserPath('npm');
    if (!systemNode || !npm) throw new Error(`No node or npm on the user's PATH (${userPath.join(path.delimiter)}).`);
    const home = mkdtempSync(path.join(os.tmpdir(), 'twl-bench-'));
    const prefix = path.join(home, 'npm-prefix');
    const userEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(npm_|TWL_|INIT_CWD$|NODE$)/i.test(k)));
    // The README's `npm link`, into the private prefix; the build is there already (no prepare).
    const link = spawnSync(npm, ['link', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: root, env: { ...userEnv, npm_config_prefix: prefix, PATH: userPath.join(path.delimiter) }, encoding: 'utf8' });
    if (link.status !== 0) throw new Error(`npm link into ${prefix} failed: ${link.stderr}`);
    const twl = path.join(prefix, 'bin', 'twl');
    const env = { ...userEnv, PATH: [path.join(prefix, 'bin'), ...userPath].join(path.delimiter), TWL_HOME: home, HOME: home };
    const versionOf = (exe) => spawnSync(exe, ['--version'], { encoding: 'utf8' }).stdout.trim();
    const pinned = path.join(root, 'node_modules', '.bin', 'node');
    try {
      // A store that exists already, and its background host up: the bench measures use, not
      // first-time creation (which, on a loaded machine, can outlast store.lockTimeout: retried).
      for (let attempt = 1; ; attempt++) {
        try {
          time(twl, ['cache', 'set', 'x', 'hello'], env);
          break;
        } catch (err) {
          if (attempt === 3) throw err;
        }
      }
      // Every case starts in the data dir, a folder outside the checkout.
      const cases = [
        { name: `node -e 0 (baseline: ${systemNode} ${versionOf(systemNode)})`, cmd: systemNode, args: ['-e', '0'], env },
        { name: `pinned node -e 0 (${versionOf(pinned)})`, cmd: pinned, args: ['-e', '0'], env },
        { name: 'twl --version', cmd: twl, args: ['--version'], env, goal: 2.5 },
        { name: 'twl --help', cmd: twl, args: ['--help'], env, goal: 3 },
        { name: 'twl cache get x (embedded store)', cmd: twl, args: ['cache', 'get', 'x'], env, goal: 10 },
        // Loads the triage model (data/model.json) and classifies; nothing is stored.
        { name: 'twl ticket classify --text … (model, no LLM)', cmd: twl, args: ['ticket', 'classify', '--text', 'La boutique en ligne ne charge plus'], env, goal: 10 },
      ];
      const redisPrefix = `twl-bench-${process.pid}:`;
      const redisEnv = { ...env, TWL_REDIS_URL: 'redis://127.0.0.1:6379', TWL_REDIS_PREFIX: redisPrefix };
      const redis = await reachable(6379);
      if (redis) {
        time(twl, ['cache', 'set', 'x', 'hello'], redisEnv);
        cases.push({ name: 'twl cache get x (Redis)', cmd: twl, args: ['cache', 'get', 'x'], env: redisEnv, goal: 5 });
        // The same in a data dir where no store host runs: the call is not recorded for the
        // dashboard then (see Runtime.flushActivity), which the case above pays for.
        const alone = path.join(home, 'no-host');
        mkdirSync(alone);
        cases.push({ name: 'twl cache get x (Redis, no store host running)', cmd: twl, args: ['cache', 'get', 'x'], env: { ...redisEnv, TWL_HOME: alone } });
      } else console.log('Redis on 127.0.0.1:6379 is not answering: the Redis case is left out.');
      for (const c of cases) c.cwd = home;
      const rows = measure(cases);
      if (redis) time(twl, ['cache', 'delete', 'x'], redisEnv);
      if (!values.json) console.log(`\ntwl is ${twl} → ${path.join(root, 'bin', 'twl')} (npm link into a private prefix), run from ${home}`);
      return report('startup', rows, cases[0].name, cases[1].name);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  },
};

/** Throughput of fn over items (calls per second), after a warm-up pass. */
function throughput(items, fn) {
  for (const item of items.slice(0, 500)) fn(item);
  const started = process.hrtime.bigint();
  for (const item of items) fn(item);
  const s = Number(process.hrtime.bigint() - started) / 1e9;
  return { perSecond: items.length / s, seconds: s };
}

suites.triage = async () => {
  if (!existsSync(path.join(root, 'dist', 'src', 'agents', 'triage', 'engine.js'))) spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
  const { classify, trainingCorpus } = await import(path.join(root, 'dist/src/agents/triage/engine.js'));
  const corpus = trainingCorpus();
  // 10,000 tickets: the corpus texts, each made distinct so no cache sees the same text twice.
  const tickets = Array.from({ length: 10_000 }, (_, i) => `${corpus[i % corpus.length].text} (ref ${i})`);
  const baseline = throughput(tickets, (t) => t.normalize('NFD').toLowerCase().split(/\s+/).length);
  const triage = throughput(tickets, (t) => classify(t));
  const rows = [
    { name: 'baseline: normalise + split the text', perSecond: baseline.perSecond },
    { name: 'sentiment + urgency + category + priority', perSecond: triage.perSecond, goal: 5000 },
  ];
  if (!values.json) {
    console.log(`\ntriage — 10,000 distinct tickets in one process (one core), node ${process.version}`);
    for (const r of rows) console.log(`${r.name.padEnd(46)}${`${Math.round(r.perSecond).toLocaleString('en')} tickets/s`.padStart(20)}${r.goal ? `   goal ≥ ${r.goal.toLocaleString('en')}/s  ${r.perSecond >= r.goal ? 'met' : 'MISSED'}` : `   (${(baseline.perSecond / triage.perSecond).toFixed(0)}× the triage rate)`}`);
  }
  const imports = await importBench();
  return { classification: rows, imports };
};

/** `twl ticket import` of 100,000 tickets into PostgreSQL and into the embedded store, against a raw pg insert of the same rows. */
async function importBench() {
  const n = Number(process.env.TWL_BENCH_IMPORT ?? 100_000);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'twl-bench-import-'));
  const file = path.join(dir, 'tickets.jsonl');
  const cats = ['application', 'server', 'network', 'database', 'security', 'access', 'hardware', 'email', 'storage', 'other'];
  const lines = Array.from({ length: n }, (_, i) => JSON.stringify({ text: `Ticket ${i}: the service number ${i % 97} answers slowly since ${i % 24}h, users on floor ${i % 9} are blocked`, requester: `user${i % 5000}@example.com`, category: cats[i % 10], priority: ['low', 'medium', 'high', 'urgent'][i % 4] }));
  writeFileSync(file, `${lines.join('\n')}\n`);
  const results = [];
  const pg = (await import('pg')).default;
  const admin = new pg.Client({ connectionString: 'postgres://postgres@127.0.0.1:5432/test' });
  let database;
  try {
    await admin.connect();
    database = `twl_bench_${process.pid}`;
    await admin.query(`CREATE DATABASE ${database}`);
  } catch (err) {
    console.log(`PostgreSQL on 127.0.0.1:5432 is not available (${err.message}): the PostgreSQL import is left out.`);
    database = undefined;
  }
  const run = (label, env) => {
    const home = mkdtempSync(path.join(os.tmpdir(), 'twl-bench-home-'));
    const e = { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TWL_'))), TWL_HOME: home, HOME: home, ...env };
    // Create and migrate the store first, so the import time is the import's.
    spawnSync(node, [bin, 'db', 'migrate'], { env: e });
    const started = process.hrtime.bigint();
    const r = spawnSync(node, [bin, 'ticket', 'import', file, '--json'], { env: e, maxBuffer: 64 * 1024 * 1024 });
    const wall = Number(process.hrtime.bigint() - started) / 1e9;
    spawnSync(node, [bin, 'db', 'host', '--idle', '1ms'], { env: e, timeout: 5000 });
    rmSync(home, { recursive: true, force: true });
    if (r.status !== 0) throw new Error(`${label}: import failed: ${r.stdout}${r.stderr}`);
    const inner = JSON.parse(r.stdout).result.durationMs / 1000;
    results.push({ name: label, perSecond: n / wall, innerPerSecond: n / inner, wall });
  };
  try {
    if (database) {
      const url = `postgres://postgres@127.0.0.1:5432/${database}`;
      run('twl ticket import → PostgreSQL', { TWL_DATABASE_URL: url });
      // Baseline: the same rows straight into a bare table with pg, one unnest INSERT per 5,000.
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      await c.query('CREATE TABLE raw_tickets (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, text text, requester text, category text, priority text)');
      const rows = lines.map((l) => JSON.parse(l));
      const started = process.hrtime.bigint();
      await c.query('BEGIN');
      for (let i = 0; i < rows.length; i += 5000) {
        const b = rows.slice(i, i + 5000);
        await c.query('INSERT INTO raw_tickets (text, requester, category, priority) SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])', [b.map((r) => r.text), b.map((r) => r.requester), b.map((r) => r.category), b.map((r) => r.priority)]);
      }
      await c.query('COMMIT');
      const s = Number(process.hrtime.bigint() - started) / 1e9;
      await c.end();
      results.push({ name: 'baseline: raw pg unnest INSERT → PostgreSQL', perSecond: n / s, innerPerSecond: n / s, wall: s });
    }
    run('twl ticket import → embedded store', { TWL_STORE_AUTO_HOST: 'off' });
  } finally {
    if (database) {
      await admin.query(`DROP DATABASE IF EXISTS ${database}`).catch(() => undefined);
      await admin.end();
    }
    rmSync(dir, { recursive: true, force: true });
  }
  if (!values.json) {
    console.log(`\nimport — ${n.toLocaleString('en')} tickets from JSONL (validation, titles, one 'imported' timeline event each, one transaction)`);
    for (const r of results) {
      const goal = r.name.includes('twl') && r.name.includes('PostgreSQL') ? `   goal ≥ 20,000/s  ${r.perSecond >= 20_000 ? 'met' : 'MISSED'}` : '';
      console.log(`${r.name.padEnd(46)}${`${Math.round(r.perSecond).toLocaleString('en')} tickets/s`.padStart(20)}  (${r.wall.toFixed(1)} s wall; ${Math.round(r.innerPerSecond).toLocaleString('en')}/s inside the command)${goal}`);
    }
  }
  return results;
}

/**
 * `npm run bench -- fuzz [--seconds 120] [--seed N]`: the HTTP face fuzzed for a while (random and
 * malformed JSON-RPC, schema-shaped arguments for every tool over MCP and REST) against a
 * `twl serve --http` in a throw-away data directory where no command may run. Goal: 0 crashes,
 * 0 500s, 0 stack traces. Findings go to bench/results/fuzz-<seed>.json.
 */
suites.fuzz = async () => {
  if (!existsSync(path.join(root, 'dist', 'root-help.txt'))) spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
  const { spawn } = await import('node:child_process');
  const home = mkdtempSync(path.join(os.tmpdir(), 'twl-bench-fuzz-'));
  const env = { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TWL_'))), TWL_HOME: home, HOME: home };
  writeFileSync(path.join(home, '.twlrc.json'), JSON.stringify(fuzzConfig(home)));
  const child = spawn(node, [bin, 'serve', '--http', '--port', '0'], { env, cwd: home, stdio: ['ignore', 'ignore', 'pipe'] });
  let exited = false;
  child.on('exit', () => (exited = true));
  try {
    const url = await new Promise((resolve, reject) => {
      let err = '';
      child.stderr.on('data', (d) => {
        err += d.toString();
        const m = /serves MCP at (http:\/\/[^\s]+)\/mcp/.exec(err);
        if (m) resolve(m[1]);
      });
      child.on('exit', (code) => reject(new Error(`twl serve --http exited ${code}: ${err}`)));
    });
    const created = spawnSync(node, [bin, 'keys', 'create', '--role', 'admin', '--json'], { env, cwd: home });
    const key = JSON.parse(String(created.stdout)).result.key;
    const seed = Number(values.seed ?? Math.floor(Math.random() * 2 ** 31));
    const result = await fuzz({ url, key, seed, durationMs: Number(values.seconds) * 1000, log: (line) => !values.json && console.log(line.slice(0, 300)) });
    if (exited) result.findings.push({ kind: 'crash', request: null, detail: 'twl serve --http exited during the run' });
    const file = saveFindings(path.join(root, 'bench', 'results'), result);
    if (!values.json) {
      console.log(`\nfuzz — seed ${seed}, ${result.requests} requests in ${result.seconds.toFixed(0)} s; statuses ${JSON.stringify(result.statuses)}; JSON-RPC internal errors ${result.internalErrors}`);
      console.log(`findings: ${result.findings.length} (goal 0: ${result.findings.length ? 'MISSED' : 'met'}); replay with --seed ${seed}; details in ${path.relative(root, file)}`);
    }
    if (result.findings.length) process.exitCode = 1;
    return result;
  } finally {
    child.kill('SIGTERM');
    await new Promise((resolve) => (exited ? resolve() : child.once('exit', resolve)));
    rmSync(home, { recursive: true, force: true });
  }
};

suites.dash = () => dash({ root, bin, node, json: values.json });
suites.mcp = () => mcp({ root, bin, node, json: values.json });
// Replicas: shared state (PostgreSQL, Redis) against a lone replica, and a rolling restart behind nginx.
suites.scale = () => scale({ root, bin, node, json: values.json });
suites.docs = () => docsBench({ root, json: values.json });
// twl bridge against mcp-proxy and supergateway in front of the same stdio upstream, and a direct stdio client (the floor).
suites.bridge = () => bridge({ root, bin, node, json: values.json });
// Tasks end to end with real `twl worker` processes, on PostgreSQL and the embedded store.
suites.tasks = () => tasks({ root, bin, node, json: values.json, postgresUrl: process.env.TWL_BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test' });
// The store host's memory (RSS) idle after 10,000 tickets, against an idle node and a bare PGlite.
suites['host-memory'] = () => hostMemory({ root, bin, node, json: values.json });
// What a new user's first hour costs: start-up times and then the store host's memory.
const startupTimes = suites.startup;
suites.startup = async () => ({ times: await startupTimes(), hostMemory: await suites['host-memory']() });
// The upstream request path (src/upstream) against a plain SDK client on the same stdio server.
suites.upstream = () => upstream({ root, json: values.json });
// The hub's overhead: the same upstream call directly and through twl serve, stdio and HTTP, c=1 and c=32.
suites.hub = () => hub({ root, bin, node, json: values.json });

// Without a name, every suite once (startup already includes host-memory).
const wanted = positionals.length ? positionals : Object.keys(suites).filter((name) => name !== 'host-memory');
const results = {};
for (const name of wanted) {
  if (!suites[name]) {
    console.error(`Unknown suite "${name}". Suites: ${Object.keys(suites).join(', ')}.`);
    process.exit(2);
  }
  results[name] = await suites[name]();
}
if (values.json) console.log(JSON.stringify(results, null, 2));
mkdirSync(path.join(root, 'bench', 'results'), { recursive: true });
writeFileSync(path.join(root, 'bench', 'results', `${new Date().toISOString().replace(/[:.]/g, '-')}.json`), JSON.stringify(results, null, 2));
