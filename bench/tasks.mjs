// `npm run bench -- tasks`: task throughput end to end (created → completed) with real
// `twl worker` processes, and how late a due task starts, on PostgreSQL (3 workers) and on the
// embedded store (1 worker). The baseline, measured in the same run on the same database, is
// pg-boss alone: bare jobs sent and worked in one process (no twl task rows, executions,
// output lines or tool call), so the ratio is what twl's record of the work costs.
import { spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';

const TOOL = 'sentiment-analyzer_analyze_sentiment';

async function modules(root) {
  const dist = (p) => import(path.join(root, 'dist', 'src', p));
  const [{ validateConfig }, { Runtime }, { createLogger }, { coreOps }, { lazyCatalog }, service, queue] = await Promise.all([
    dist('runtime/config.js'),
    dist('runtime/context.js'),
    dist('runtime/logger.js'),
    dist('ops/registry.js'),
    dist('tools/index.js'),
    dist('studio/service.js'),
    dist('studio/queue.js'),
  ]);
  return { validateConfig, Runtime, createLogger, coreOps, lazyCatalog, ...service, ...queue };
}

function startWorker({ node, bin, home, env, name }) {
  const child = spawn(node, [bin, 'worker', '--name', name, '--concurrency', '8'], { cwd: home, env, stdio: ['ignore', 'ignore', 'pipe'] });
  const ready = new Promise((resolve, reject) => {
    let err = '';
    child.stderr.on('data', (d) => {
      err += d.toString();
      if (err.includes('takes runs from')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`twl worker exited ${code}: ${err.slice(-2000)}`)));
  });
  return { child, ready };
}

const stop = (child) => new Promise((resolve) => (child.exitCode !== null ? resolve() : (child.once('exit', resolve), child.kill('SIGTERM'))));

/** Calls fn(i) for i in 0..n-1, 16 at a time. */
async function inParallel(n, fn) {
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < n) await fn(next++);
    }),
  );
}

const quantile = (xs, q) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))];

/** Tasks per second of the creating side alone (the last throughput run's), to tell which side limits. */
const created = [];

/** Creates n trivial tasks (16 at a time) and waits until all completed; tasks per second. */
async function throughput(m, runtime, boss, store, n) {
  const ids = [];
  const started = performance.now();
  await inParallel(n, async () => {
    const task = await m.createTask(
      runtime,
      { kind: 'tool', tool: TOOL, input: { text: 'fine' }, queue: 'default', trigger: 'now', retries: 2, timeoutMs: 60_000, needsApproval: false, createdBy: 'bench', status: 'pending' },
      boss,
    );
    ids.push(task.id);
  });
  const createdMs = performance.now() - started;
  for (;;) {
    const { rows } = await store.query("SELECT count(*)::int AS n FROM twl_tasks WHERE id = ANY($1::bigint[]) AND status = 'completed'", [ids]);
    if (rows[0].n >= n) break;
    await sleep(50);
  }
  created.push(n / (createdMs / 1000));
  return n / ((performance.now() - started) / 1000);
}

/** --at tasks due 2 s from now, spread over a second: how long after its time each started (ms). */
async function dueLatency(m, runtime, boss, store, n) {
  const base = Date.now() + 2000;
  const ids = [];
  for (let i = 0; i < n; i++) {
    const runAt = new Date(base + Math.floor((i * 1000) / n)).toISOString();
    const task = await m.createTask(
      runtime,
      { kind: 'tool', tool: TOOL, input: { text: 'fine' }, queue: 'default', trigger: 'at', runAt, retries: 2, timeoutMs: 60_000, needsApproval: false, createdBy: 'bench', status: 'pending' },
      boss,
    );
    ids.push(task.id);
  }
  for (;;) {
    const { rows } = await store.query(
      'SELECT t.run_at, min(e.started_at) AS started FROM twl_tasks t JOIN twl_task_executions e ON e.task_id = t.id WHERE t.id = ANY($1::bigint[]) GROUP BY t.id, t.run_at',
      [ids],
    );
    if (rows.length >= n) return rows.map((r) => new Date(r.started).getTime() - new Date(r.run_at).getTime());
    await sleep(100);
  }
}

/** The baseline: pg-boss alone, one process, bare jobs (send → no-op handler → complete). */
async function bareQueue(boss, n) {
  const name = `bench-bare-${randomUUID().slice(0, 8)}`;
  await boss.createQueue(name);
  let done = 0;
  await boss.work(name, { localConcurrency: 8, batchSize: 4, burstWhenBatchFull: true, pollingIntervalSeconds: 0.5 }, async (jobs) => {
    done += jobs.length;
  });
  const started = performance.now();
  await inParallel(n, (i) => boss.send(name, { i }));
  while (done < n) await sleep(20);
  const perSecond = n / ((performance.now() - started) / 1000);
  await boss.offWork(name);
  return perSecond;
}

/** The baseline's latency: bare jobs due 2 s from now (startAfter), started how late (ms). */
async function bareLatency(boss, n) {
  const name = `bench-due-${randomUUID().slice(0, 8)}`;
  await boss.createQueue(name);
  const late = [];
  await boss.work(name, { localConcurrency: 8, batchSize: 4, burstWhenBatchFull: true, pollingIntervalSeconds: 0.5 }, async (jobs) => {
    for (const j of jobs) late.push(Date.now() - j.data.at);
  });
  const base = Date.now() + 2000;
  for (let i = 0; i < n; i++) {
    const at = base + Math.floor((i * 1000) / n);
    await boss.send(name, { at }, { startAfter: new Date(at) });
  }
  while (late.length < n) await sleep(50);
  await boss.offWork(name);
  return late;
}

const median = (xs) => quantile(xs, 0.5);

/**
 * 10,000 scheduled tasks pending (seeded with one INSERT, as if created over weeks): the wall
 * time of `twl task list` (its first page) and of `twl task list --status scheduled`, against
 * `twl --version` (a process start, no store) in the same run, medians of 7 interleaved runs.
 */
async function listPending({ bin, node, home, env, store, count = 10_000 }) {
  await store.query(
    `INSERT INTO twl_tasks (name, kind, tool, input, queue, trigger, run_at, status, retries, timeout_ms, created_by)
     SELECT 'pending ' || g, 'tool', $1, '{"text":"later"}', 'default', 'at', now() + g * interval '1 minute', 'scheduled', 2, 60000, 'bench'
     FROM generate_series(1, $2) AS g`,
    [TOOL, count],
  );
  const time = (args) => {
    const started = performance.now();
    const r = spawnSync(node, [bin, ...args], { cwd: home, env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    const ms = performance.now() - started;
    if (r.status !== 0) throw new Error(`twl ${args.join(' ')} failed: ${r.stderr}`);
    return { ms, stdout: r.stdout };
  };
  // Two baselines: a process start without the store, and the existing store command that lists (tickets: none here).
  const cases = { version: ['--version'], tickets: ['ticket', 'list', '--json'], list: ['task', 'list', '--json'], scheduled: ['task', 'list', '--status', 'scheduled', '--json'] };
  const first = JSON.parse(time(cases.list).stdout).result.tasks;
  if (first.length !== 50) throw new Error(`twl task list showed ${first.length} tasks, not a page of 50`);
  const samples = { version: [], tickets: [], list: [], scheduled: [] };
  for (let i = 0; i < 7; i++) for (const [k, args] of Object.entries(cases)) samples[k].push(time(args).ms);
  return { listMs: median(samples.list), scheduledMs: median(samples.scheduled), versionMs: median(samples.version), ticketsMs: median(samples.tickets) };
}

async function backend({ bin, node, m, label, workers, config, n }) {
  const home = mkdtempSync(path.join(os.tmpdir(), 'twl-bench-tasks-'));
  writeFileSync(path.join(home, '.twlrc.json'), JSON.stringify(config));
  const env = { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TWL_'))), TWL_HOME: home, HOME: home };
  const procs = [];
  const loaded = m.validateConfig({ ...config, home }, undefined, {});
  const runtime = new m.Runtime(loaded, m.createLogger('silent'), { actor: 'bench', ops: m.coreOps, tools: (rt) => m.lazyCatalog(rt, m.coreOps) });
  try {
    // The first worker hosts the embedded store; the others (and this process) connect to it.
    for (let i = 0; i < workers; i++) {
      const w = startWorker({ node, bin, home, env, name: `bench-${i + 1}` });
      procs.push(w.child);
      await w.ready;
    }
    const store = await runtime.store();
    const boss = await m.openQueue(runtime, { worker: false, max: 8 });
    try {
      await throughput(m, runtime, boss, store, 50); // warm-up
      const twl = await throughput(m, runtime, boss, store, n);
      const createdPerSecond = created.at(-1);
      const late = await dueLatency(m, runtime, boss, store, 100);
      // What the change feed's triggers (migration 0013) cost: the same run with them off.
      const triggers = ['twl_tasks.twl_tasks_event', 'twl_task_executions.twl_task_executions_event', 'twl_task_output.twl_task_output_event'].map((t) => t.split('.'));
      for (const [table, trigger] of triggers) await store.query(`ALTER TABLE ${table} DISABLE TRIGGER ${trigger}`);
      let twlNoFeed;
      try {
        twlNoFeed = await throughput(m, runtime, boss, store, n);
      } finally {
        for (const [table, trigger] of triggers) await store.query(`ALTER TABLE ${table} ENABLE TRIGGER ${trigger}`);
      }
      // The workers stay up (idle): on the embedded store the first one hosts it.
      const bare = await bareQueue(boss, n);
      const bareLate = await bareLatency(boss, 100);
      const list = await listPending({ bin, node, home, env, store });
      return { label, tasks: n, tasksPerSecond: twl, createdPerSecond, noFeedPerSecond: twlNoFeed, bareJobsPerSecond: bare, ratio: twl / bare, dueP99Ms: quantile(late, 0.99), dueP50Ms: quantile(late, 0.5), bareDueP99Ms: quantile(bareLate, 0.99), ...list };
    } finally {
      await boss.stop({ graceful: false, close: true }).catch(() => undefined);
    }
  } finally {
    for (const p of procs) await stop(p);
    await runtime.close().catch(() => undefined);
    rmSync(home, { recursive: true, force: true });
  }
}

export async function tasks({ root, bin, node, json, postgresUrl }) {
  const m = await modules(root);
  const tasksConfig = { pollInterval: '500ms' };
  const results = [];
  const schema = `pgboss_bench_${randomUUID().slice(0, 8)}`;
  try {
    results.push(await backend({ bin, node, m, label: 'PostgreSQL, 3 workers', workers: 3, n: Number(process.env.TWL_BENCH_TASKS_PG ?? 2000), config: { database: { url: postgresUrl }, tasks: { ...tasksConfig, schema } } }));
  } finally {
    const client = new pg.Client({ connectionString: postgresUrl });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await client.end();
  }
  results.push(await backend({ bin, node, m, label: 'embedded store, 1 worker', workers: 1, n: Number(process.env.TWL_BENCH_TASKS_EMBEDDED ?? 300), config: { tasks: tasksConfig } }));
  if (!json) {
    console.log('\ntasks — trivial tool tasks created → completed, and due --at tasks (100, spread over 1 s) started how late; baseline: pg-boss alone (bare jobs, one process) on the same database');
    console.log(`${'backend'.padEnd(28)}${'tasks/s'.padStart(10)}${'bare jobs/s'.padStart(13)}${'ratio'.padStart(8)}${'due p50'.padStart(10)}${'due p99'.padStart(10)}${'bare p99'.padStart(10)}   goals`);
    for (const r of results) {
      const goal = r.label.startsWith('PostgreSQL') ? `≥ 1000/s ${r.tasksPerSecond >= 1000 ? 'met' : 'MISSED'}, p99 ≤ 1000 ms ${r.dueP99Ms <= 1000 ? 'met' : 'MISSED'}` : `≥ 100/s ${r.tasksPerSecond >= 100 ? 'met' : 'MISSED'}`;
      console.log(
        `${r.label.padEnd(28)}${r.tasksPerSecond.toFixed(0).padStart(10)}${r.bareJobsPerSecond.toFixed(0).padStart(13)}${`${r.ratio.toFixed(2)}×`.padStart(8)}${`${r.dueP50Ms} ms`.padStart(10)}${`${r.dueP99Ms} ms`.padStart(10)}${`${r.bareDueP99Ms} ms`.padStart(10)}   ${goal}`,
      );
    }
    for (const r of results) console.log(`${r.label}: created ${r.createdPerSecond.toFixed(0)} tasks/s (the creating side alone); without the change feed's triggers ${r.noFeedPerSecond.toFixed(0)} tasks/s end to end (with: ${r.tasksPerSecond.toFixed(0)})`);
    console.log('\n10,000 scheduled tasks pending: `twl task list` (first page, 50), medians of 7; baselines in the same run: `twl --version`, `twl ticket list` (no tickets)');
    console.log(`${'backend'.padEnd(28)}${'task list'.padStart(12)}${'--status scheduled'.padStart(20)}${'--version'.padStart(12)}${'ticket list'.padStart(13)}   goal`);
    for (const r of results) {
      const ms = (v) => `${Math.round(v)} ms`;
      console.log(`${r.label.padEnd(28)}${ms(r.listMs).padStart(12)}${ms(r.scheduledMs).padStart(20)}${ms(r.versionMs).padStart(12)}${ms(r.ticketsMs).padStart(13)}   < 300 ms ${Math.max(r.listMs, r.scheduledMs) < 300 ? 'met' : 'MISSED'}`);
    }
  }
  return results;
}
