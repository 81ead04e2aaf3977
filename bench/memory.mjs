// Memory of the embedded store host (`twl db host`): its resident set size, idle, after
// 10,000 tickets were imported through it. Baselines in the same run: an idle bare node
// process, and an idle node process that has only opened PGlite on a fresh data directory.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Resident set size of a process, and the part of it that is its own (private pages: not the
 * node binary's code and libraries, which every node process shares), in MB (Linux /proc).
 */
const memoryMb = (pid) => {
  const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const kb = (field) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(rollup)?.[1] ?? NaN);
  return { rss: kb('Rss') / 1024, own: (kb('Private_Dirty') + kb('Private_Clean')) / 1024 };
};

/** Samples a process's memory every 250 ms for `ms`: the last sample (idle, settled) and the peak RSS. */
async function settle(pid, ms) {
  let peak = 0;
  let last = { rss: 0, own: 0 };
  for (let t = 0; t < ms; t += 250) {
    last = memoryMb(pid);
    peak = Math.max(peak, last.rss);
    await sleep(250);
  }
  return { idle: last.rss, own: last.own, peak };
}

async function idleProcess(node, args, env, settleMs, ready = () => true) {
  const child = spawn(node, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  try {
    const deadline = Date.now() + 60_000;
    while (!ready()) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`${args.join(' ')} did not get ready: ${err}`);
      await sleep(50);
    }
    return await settle(child.pid, settleMs);
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r)));
  }
}

export async function hostMemory({ root, bin, node, json, tickets = Number(process.env.TWL_BENCH_MEMORY_TICKETS ?? 10_000) }) {
  if (!existsSync(path.join(root, 'dist', 'root-help.txt'))) spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
  const home = mkdtempSync(path.join(os.tmpdir(), 'twl-bench-mem-'));
  const env = { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TWL_'))), TWL_HOME: home, HOME: home };
  const socket = path.join(home, 'run', '.s.PGSQL.5432');
  const rows = [];
  try {
    rows.push({ name: 'baseline: idle node process', ...(await idleProcess(node, ['-e', 'setInterval(() => {}, 1000)'], env, 3000)) });
    const pgliteDir = path.join(home, 'bare-pglite');
    const script = `const { PGlite } = await import(${JSON.stringify(path.join(root, 'node_modules/@electric-sql/pglite/dist/index.js'))}); const db = await PGlite.create(${JSON.stringify(pgliteDir)}); await db.query('select 1'); process.stderr.write('ready'); setInterval(() => {}, 1000);`;
    let ready = false;
    const bare = spawn(node, ['--input-type=module', '-e', script], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    bare.stderr.on('data', (d) => (ready ||= String(d).includes('ready')));
    try {
      const deadline = Date.now() + 60_000;
      while (!ready && Date.now() < deadline && bare.exitCode === null) await sleep(50);
      rows.push({ name: 'baseline: node with PGlite opened, idle', ...(await settle(bare.pid, 3000)) });
    } finally {
      bare.kill('SIGTERM');
    }

    const file = path.join(home, 'tickets.jsonl');
    writeFileSync(file, `${Array.from({ length: tickets }, (_, i) => JSON.stringify({ text: `Ticket ${i}: the service number ${i % 97} answers slowly since ${i % 24}h, users on floor ${i % 9} are blocked`, requester: `user${i % 500}@example.com` })).join('\n')}\n`);
    const startHost = async () => {
      const host = spawn(node, [bin, 'db', 'host'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      host.stderr.on('data', (d) => (err += d));
      const deadline = Date.now() + 60_000;
      while (!existsSync(socket)) {
        if (Date.now() > deadline || host.exitCode !== null) throw new Error(`twl db host did not start: ${err}`);
        await sleep(50);
      }
      return {
        pid: host.pid,
        stop: async () => {
          host.kill('SIGTERM');
          await new Promise((r) => (host.exitCode !== null ? r() : host.once('exit', r)));
        },
      };
    };
    const cli = (...args) => {
      const r = spawnSync(node, [bin, ...args, '--json'], { env, maxBuffer: 64 * 1024 * 1024 });
      if (r.status !== 0) throw new Error(`twl ${args.join(' ')} failed: ${r.stdout}${r.stderr}`);
    };
    let host = await startHost();
    try {
      rows.push({ name: 'twl db host, new store, idle', ...(await settle(host.pid, 3000)) });
      cli('ticket', 'import', file);
      cli('ticket', 'list', '--limit', '1000');
      rows.push({ name: `twl db host that imported ${tickets.toLocaleString('en')} tickets, idle`, ...(await settle(host.pid, 5000)), goal: 200 });
    } finally {
      await host.stop();
    }
    // The usual case: a host (re)started on a store that has the tickets, serving reads.
    host = await startHost();
    try {
      cli('ticket', 'list', '--limit', '1000');
      cli('db', 'query', 'select category, count(*) from twl_tickets group by 1');
      rows.push({ name: `twl db host on a store of ${tickets.toLocaleString('en')} tickets, idle`, ...(await settle(host.pid, 5000)), goal: 200 });
    } finally {
      await host.stop();
    }
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
  if (!json) {
    console.log(`\nhost-memory — resident set size (RSS); node ${process.version}, ${os.cpus().length} cores`);
    console.log(`${'case'.padEnd(52)}${'idle RSS'.padStart(10)}${'own'.padStart(9)}${'peak RSS'.padStart(10)}   goal (idle RSS)`);
    for (const r of rows) console.log(`${r.name.padEnd(52)}${`${r.idle.toFixed(0)} MB`.padStart(10)}${`${r.own.toFixed(0)} MB`.padStart(9)}${`${r.peak.toFixed(0)} MB`.padStart(10)}   ${r.goal ? `≤ ${r.goal} MB  ${r.idle <= r.goal ? 'met' : 'MISSED'}` : ''}`);
    console.log('own: private pages only (RSS less the node binary and libraries, shared by every node process)');
  }
  return rows;
}
