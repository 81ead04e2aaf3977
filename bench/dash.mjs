// `npm run bench -- dash`: twl dash with 10,000 tickets (and 10,000 scheduled tasks pending) in the store, on a real terminal (tmux):
// time to the first frame that shows them, time to reflect a ticket created by another
// process, CPU while idle, and resident memory, against the issue's goals.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const goals = { firstFrameMs: 1000, reflectMs: 1000, idleCpuPercent: 2, rssMb: 150 };

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

const q = (s) => `'${String(s).replaceAll("'", "'\\''")}'`;

/** CPU ticks (user + system, every thread: PGlite's worker included) of a process. */
function cpuTicks(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15)
}

const statusKb = (pid, key) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN);

async function measure({ label, bin, node, env, tickets }) {
  const sock = `twl-bench-dash-${process.pid}`;
  const tmux = (...args) => execFileSync('tmux', ['-L', sock, '-f', '/dev/null', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const pane = () => tmux('capture-pane', '-p', '-t', 'dash');
  const waitFor = async (test, ms, pollMs = 10) => {
    const deadline = performance.now() + ms;
    while (performance.now() < deadline) {
      if (test(pane())) return performance.now();
      await sleep(pollMs);
    }
    throw new Error(`${label}: not on screen within ${ms} ms:\n${pane()}`);
  };
  const assignments = Object.entries(env).map(([k, v]) => `${k}=${q(v)}`).join(' ');
  const total = tickets.toLocaleString('en');
  try {
    const started = performance.now();
    tmux('new-session', '-d', '-s', 'dash', '-x', '160', '-y', '48', `exec env -i ${assignments} ${q(node)} ${q(bin)} dash`);
    // The first frame that is truthful: the ticket panel with the 10,000 tickets in it.
    const shown = await waitFor((p) => p.includes(`of ${total} open`) && /#\d+/.test(p), 60_000);
    const firstFrameMs = shown - started;
    const pid = Number(tmux('display-message', '-p', '-t', 'dash', '#{pane_pid}').trim());
    await sleep(3000); // metrics, health and agents have loaded

    const reflect = [];
    for (let i = 0; i < 5; i++) {
      const title = `Bench ${i} ${Math.random().toString(36).slice(2, 7)}`;
      const r = spawnSync(node, [bin, 'ticket', 'create', title], { env });
      if (r.status !== 0) throw new Error(`${label}: twl ticket create failed: ${r.stderr}`);
      // From the moment the creating process has committed and exited.
      const created = performance.now();
      reflect.push((await waitFor((p) => p.includes(title), 10_000)) - created);
      await sleep(500);
    }

    await sleep(3000);
    const hz = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    const t0 = cpuTicks(pid);
    const w0 = performance.now();
    await sleep(10_000);
    const idleCpuPercent = ((cpuTicks(pid) - t0) / hz / ((performance.now() - w0) / 1000)) * 100;
    const rssMb = statusKb(pid, 'VmRSS') / 1024;
    const peakMb = statusKb(pid, 'VmHWM') / 1024;
    // The embedded store's host, when one serves it (its pid is in the store's owner file).
    let hostRssMb = null;
    try {
      const owner = JSON.parse(readFileSync(path.join(env.TWL_HOME, 'store.owner.json'), 'utf8'));
      if (owner.pid !== pid) hostRssMb = statusKb(owner.pid, 'VmRSS') / 1024;
    } catch {
      // PostgreSQL, or no host
    }

    tmux('send-keys', '-t', 'dash', 'q');
    const deadline = performance.now() + 10_000;
    while (existsSync(`/proc/${pid}`) && performance.now() < deadline) await sleep(50);
    return { label, firstFrameMs, reflectMs: median(reflect), reflectMaxMs: Math.max(...reflect), idleCpuPercent, rssMb, peakMb, hostRssMb, quit: !existsSync(`/proc/${pid}`) };
  } finally {
    try {
      tmux('kill-server');
    } catch {
      // gone already
    }
  }
}

/**
 * Seeds `count` scheduled tasks (pending, as if created over weeks) in one INSERT, through the
 * store the dashboard reads: PostgreSQL's URL, or the embedded store's host socket.
 */
async function seedTasks({ root, env, count }) {
  if (!count) return;
  const pg = (await import('pg')).default;
  const { embeddedPaths } = await import(path.join(root, 'dist', 'src', 'store', 'embedded.js'));
  const client = env.TWL_DATABASE_URL
    ? new pg.Client({ connectionString: env.TWL_DATABASE_URL })
    : new pg.Client({ host: embeddedPaths(env.TWL_HOME).runDir, port: 5432, user: 'postgres', database: 'postgres' });
  await client.connect();
  try {
    await client.query(
      `INSERT INTO twl_tasks (name, kind, tool, input, queue, trigger, run_at, status, retries, timeout_ms, created_by)
       SELECT 'pending ' || g, 'tool', 'sentiment-analyzer_analyze_sentiment', '{"text":"later"}', 'default', 'at', now() + g * interval '1 minute', 'scheduled', 2, 60000, 'bench'
       FROM generate_series(1, $1) AS g`,
      [count],
    );
  } finally {
    await client.end();
  }
}

/** The `dash` suite for bench/run.mjs: tickets, and pending tasks beside them (TWL_BENCH_DASH_TASKS, default 10,000; 0: none). */
export async function dash({ root, bin, node = process.execPath, json = false, tickets = Number(process.env.TWL_BENCH_DASH_TICKETS ?? 10_000), tasks = Number(process.env.TWL_BENCH_DASH_TASKS ?? 10_000) }) {
  if (!existsSync('/usr/bin/tmux') && spawnSync('tmux', ['-V']).status !== 0) throw new Error('The dash benchmark needs tmux.');
  if (!existsSync(path.join(root, 'dist', 'commands', 'dash.js'))) spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
  const dir = mkdtempSync(path.join(os.tmpdir(), 'twl-bench-dash-'));
  const file = path.join(dir, 'tickets.jsonl');
  const cats = ['application', 'server', 'network', 'database', 'security', 'access', 'hardware', 'email', 'storage', 'other'];
  writeFileSync(
    file,
    `${Array.from({ length: tickets }, (_, i) => JSON.stringify({ text: `Ticket ${i}: service ${i % 97} answers slowly since ${i % 24}h`, requester: `user${i % 500}@example.com`, category: cats[i % 10], priority: ['low', 'medium', 'high', 'urgent'][i % 4] })).join('\n')}\n`,
  );
  const results = [];
  const backends = [{ label: 'embedded store', env: {} }];
  let admin;
  let database;
  try {
    const pg = (await import('pg')).default;
    const adminUrl = process.env.TWL_BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
    admin = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 3000 });
    await admin.connect();
    database = `twl_bench_dash_${process.pid}`;
    await admin.query(`CREATE DATABASE ${database}`);
    const url = new URL(adminUrl);
    url.pathname = `/${database}`;
    backends.push({ label: 'PostgreSQL', env: { TWL_DATABASE_URL: url.toString() } });
  } catch (err) {
    if (!json) console.log(`PostgreSQL is not available (${err.message}): only the embedded store is measured.`);
    await admin?.end().catch(() => undefined);
    admin = undefined;
  }
  try {
    for (const backend of backends) {
      const home = mkdtempSync(path.join(os.tmpdir(), 'twl-bench-dash-home-'));
      const env = {
        ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TWL_'))),
        TWL_HOME: home,
        HOME: home,
        TERM: 'xterm-256color',
        // As a user runs it: the import starts the background store host, which the dashboard then shares;
        // the host's own memory is reported beside the dashboard's.
        ...backend.env,
      };
      try {
        const imported = spawnSync(node, [bin, 'ticket', 'import', file], { env, maxBuffer: 64 * 1024 * 1024 });
        if (imported.status !== 0) throw new Error(`${backend.label}: import failed: ${imported.stderr}`);
        await seedTasks({ root, env, count: tasks });
        results.push(await measure({ label: backend.label, bin, node, env, tickets }));
      } finally {
        rmSync(home, { recursive: true, force: true });
      }
    }
  } finally {
    if (admin) {
      await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`).catch(() => undefined);
      await admin.end();
    }
    rmSync(dir, { recursive: true, force: true });
  }
  const rows = results.flatMap((r) => [
    { name: `${r.label}: first frame with ${tickets.toLocaleString('en')} tickets`, value: r.firstFrameMs, unit: 'ms', goal: goals.firstFrameMs },
    { name: `${r.label}: a new ticket shows (median of 5; max ${Math.round(r.reflectMaxMs)} ms)`, value: r.reflectMs, unit: 'ms', goal: goals.reflectMs },
    { name: `${r.label}: CPU while idle (10 s)`, value: r.idleCpuPercent, unit: '% of a core', goal: goals.idleCpuPercent },
    { name: `${r.label}: resident memory (peak ${Math.round(r.peakMb)} MB)`, value: r.rssMb, unit: 'MB', goal: goals.rssMb },
    ...(r.hostRssMb === null ? [] : [{ name: `${r.label}: the shared store host's memory (not the dashboard's)`, value: r.hostRssMb, unit: 'MB', goal: undefined, info: true }]),
    { name: `${r.label}: q ends the process`, value: r.quit ? 1 : 0, unit: '', goal: undefined },
  ]).map((row) => ({ ...row, met: row.info ? null : row.goal === undefined ? row.value === 1 : row.value <= row.goal }));
  if (!json) {
    console.log(`\ndash — twl dash under tmux (160×48), node ${process.version}, ${os.cpus().length} cores; ${tasks.toLocaleString('en')} scheduled tasks pending beside the tickets`);
    for (const r of rows) {
      const value = r.unit === '' ? (r.value ? 'yes' : 'NO') : `${r.value < 10 ? r.value.toFixed(2) : Math.round(r.value)} ${r.unit}`;
      console.log(`${r.name.padEnd(64)}${value.padStart(16)}   ${r.goal === undefined ? '' : `goal ≤ ${r.goal} ${r.unit}  `}${r.met === null ? '(for information)' : r.met ? 'met' : 'MISSED'}`);
    }
  }
  return rows;
}
