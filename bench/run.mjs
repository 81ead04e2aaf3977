// twl benchmarks: `npm run bench -- <suite>`. Every figure is a ratio against a baseline
// measured in the same run, interleaved with it, because these machines are noisy.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { dash } from './dash.mjs';
import { mcp } from './mcp.mjs';
import { hostMemory } from './memory.mjs';

const root = path.resolve(import.meta.dirname, '..');
const bin = path.join(root, 'bin', 'run.js');
const node = process.execPath;

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { runs: { type: 'string', default: '30' }, warmup: { type: 'string', default: '3' }, json: { type: 'boolean', default: false } },
});
const runs = Number(values.runs);
const warmup = Number(values.warmup);

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const quantile = (xs, q) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))];

function time(cmd, args, env) {
  const started = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return ms;
}

/** Runs every case round-robin (so drift hits all alike) and returns medians. */
function measure(cases) {
  for (let i = 0; i < warmup; i++) for (const c of cases) time(c.cmd, c.args, c.env);
  const samples = new Map(cases.map((c) => [c.name, []]));
  for (let i = 0; i < runs; i++) for (const c of cases) samples.get(c.name).push(time(c.cmd, c.args, c.env));
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

function report(title, rows, baseline) {
  const base = rows.find((r) => r.name === baseline).median;
  const out = rows.map((r) => ({ ...r, ratio: r.median / base, met: r.goal === undefined ? null : r.median / base <= r.goal }));
  if (values.json) return out;
  console.log(`\n${title} — ${runs} runs each after ${warmup} warm-up, interleaved; node ${process.version}, ${os.cpus().length} cores`);
  console.log(`${'case'.padEnd(44)}${'median'.padStart(10)}${'p90'.padStart(10)}${'ratio'.padStart(9)}   goal`);
  for (const r of out) {
    const goal = r.goal === undefined ? '' : `≤ ${r.goal}×  ${r.met ? 'met' : 'MISSED'}`;
    console.log(`${r.name.padEnd(44)}${`${r.median.toFixed(1)} ms`.padStart(10)}${`${r.p90.toFixed(1)} ms`.padStart(10)}${`${r.ratio.toFixed(2)}×`.padStart(9)}   ${goal}`);
  }
  return out;
}

const suites = {
  async startup() {
    if (!existsSync(path.join(root, 'dist', 'root-help.txt'))) spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
    const home = mkdtempSync(path.join(os.tmpdir(), 'twl-bench-'));
    const env = { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TWL_'))), TWL_HOME: home, HOME: home };
    try {
      // A store that exists already: the bench measures use, not first-time creation.
      time(node, [bin, 'cache', 'set', 'x', 'hello'], env);
      const cases = [
        { name: 'node -e 0 (baseline)', cmd: node, args: ['-e', '0'], env },
        { name: 'twl --version', cmd: node, args: [bin, '--version'], env, goal: 2.5 },
        { name: 'twl --help', cmd: node, args: [bin, '--help'], env, goal: 3 },
        { name: 'twl cache get x (embedded store)', cmd: node, args: [bin, 'cache', 'get', 'x'], env, goal: 10 },
      ];
      if (await reachable(6379)) {
        const redisEnv = { ...env, TWL_REDIS_URL: 'redis://127.0.0.1:6379', TWL_REDIS_PREFIX: 'twl-bench:' };
        time(node, [bin, 'cache', 'set', 'x', 'hello'], redisEnv);
        cases.push({ name: 'twl cache get x (Redis)', cmd: node, args: [bin, 'cache', 'get', 'x'], env: redisEnv, goal: 4 });
      } else console.log('Redis on 127.0.0.1:6379 is not answering: the Redis case is left out.');
      return report('startup', measure(cases), 'node -e 0 (baseline)');
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
  const { classify, parseCorpus, trainingCorpusPath } = await import(path.join(root, 'dist/src/agents/triage/engine.js'));
  const { readFileSync } = await import('node:fs');
  const corpus = parseCorpus(readFileSync(trainingCorpusPath, 'utf8'), 'training');
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

suites.dash = () => dash({ root, bin, node, json: values.json });
suites.mcp = () => mcp({ root, bin, node, json: values.json });
// The store host's memory (RSS) idle after 10,000 tickets, against an idle node and a bare PGlite.
suites['host-memory'] = () => hostMemory({ root, bin, node, json: values.json });

const wanted = positionals.length ? positionals : Object.keys(suites);
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
