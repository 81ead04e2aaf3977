// twl benchmarks: `npm run bench -- <suite>`. Every figure is a ratio against a baseline
// measured in the same run, interleaved with it, because these machines are noisy.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

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
