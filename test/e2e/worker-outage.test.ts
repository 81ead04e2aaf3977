import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa, type ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PrivatePostgres, requirePrivatePostgres } from '../fixtures/private-postgres.js';
import { bin, envelope, inheritedEnv, root, tempHome, twl } from '../helpers.js';

const canRun = requirePrivatePostgres();
const debug = (...args: unknown[]) => process.env.TWL_TEST_DEBUG && console.log(new Date().toISOString(), ...args);

interface Shown {
  task: { id: number; status: string; reason: string | null };
  executions: Array<{ attempt: number; status: string; worker: string; error: string | null }>;
}

/**
 * The acceptance point: PostgreSQL stopped under `twl worker`. Two real worker processes on a
 * PostgreSQL of the test's own; tasks created before the stop (some running, one mid-call, some
 * due during the outage), creation refused cleanly while it is down, more tasks after it is
 * back. The workers say on stderr that they wait, then that they resume; every task completes,
 * and its tool (an MCP server that appends a line per call to a file) ran exactly once.
 */
describe.skipIf(!canRun)('twl worker when its PostgreSQL stops', () => {
  let pg: PrivatePostgres;
  let home: string;
  let cleanup: () => void;
  let countFile: string;
  const workers: Array<{ name: string; child: ResultPromise; stderr: string; exited: boolean }> = [];

  const cli = (args: string[]) => twl(args, { home, env: { TWL_DATABASE_URL: pg.url } });
  const create = async (tag: string, when: string[], ms = 0) => {
    const r = await cli(['task', 'create', '--tool', 'count_mark', '--input', JSON.stringify({ tag, ms }), ...when, '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    return { tag, id: (envelope(r.stdout).result as { task: { id: number } }).task.id };
  };
  const show = async (id: number) => {
    const r = await cli(['task', 'show', String(id), '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    return envelope(r.stdout).result as unknown as Shown;
  };
  const marks = () => (existsSync(countFile) ? readFileSync(countFile, 'utf8').split('\n').filter(Boolean) : []);
  const startWorker = async (name: string) => {
    const child = execa(process.execPath, [bin, 'worker', '--name', name, '--concurrency', '2', '--grace', '5s'], {
      cwd: home,
      env: { ...inheritedEnv(), TWL_HOME: home, HOME: home, NO_COLOR: '1', TWL_DATABASE_URL: pg.url },
      extendEnv: false,
      reject: false,
    });
    const w = { name, child, stderr: '', exited: false };
    void child.finally(() => (w.exited = true));
    workers.push(w);
    await new Promise<void>((resolve, reject) => {
      child.stderr!.on('data', (d: Buffer) => {
        w.stderr += d.toString();
        if (w.stderr.includes('takes runs from')) resolve();
      });
      void child.then((r) => reject(new Error(`worker ${name} exited (${r.exitCode}): ${w.stderr}`)));
    });
  };

  beforeAll(async () => {
    pg = await PrivatePostgres.create();
    ({ home, cleanup } = tempHome('twl-worker-outage-'));
    countFile = path.join(home, 'marks.txt');
    writeFileSync(
      path.join(home, '.twlrc.json'),
      JSON.stringify({
        upstreams: [{ name: 'count', transport: 'stdio', command: process.execPath, args: [path.join(root, 'test/fixtures/count-mcp.mjs')], env: { COUNT_FILE: countFile }, approval: 'never' }],
        // Supervision every second: a lease judged too early after the outage would show at once.
        tasks: { retryDelay: '1s', superviseInterval: '1s' },
      }),
    );
    await startWorker('outage-a');
    await startWorker('outage-b');
  });
  afterAll(async () => {
    for (const w of workers) if (!w.exited) w.child.kill('SIGTERM');
    await Promise.all(workers.map((w) => w.child.catch(() => undefined)));
    await pg?.destroy();
    cleanup?.();
  });

  it('the workers wait, say so, and resume: every task completes, each tool call exactly once', async () => {
    const tasks: Array<{ tag: string; id: number }> = [];
    // Before: a few that run at once, two due while PostgreSQL is down (it stops within seconds
    // of the last one starting and stays down ~25 s), and, created last, one whose call is in
    // flight when it stops (15 s long: a CLI call takes seconds on a loaded machine).
    for (let i = 0; i < 3; i++) tasks.push(await create(`before-${i}`, ['--now']));
    const due = new Date(Date.now() + 20_000).toISOString();
    for (let i = 0; i < 2; i++) tasks.push(await create(`due-${i}`, ['--at', due]));
    const slow = await create('in-flight', ['--now'], 15_000);
    tasks.push(slow);
    for (;;) {
      const s = await show(slow.id);
      if (s.executions.some((e) => e.status === 'running')) break;
      expect(s.task.status, JSON.stringify(s)).not.toMatch(/completed|failed|dead_letter/);
      await sleep(200);
    }

    debug('in flight; stopping PostgreSQL');
    await pg.kill();
    const stoppedAt = Date.now();
    // Creating a task while it is down: a clear error, nothing half-written (checked below by the count).
    const refused = await cli(['task', 'create', '--tool', 'count_mark', '--input', '{"tag":"refused"}', '--now', '--json']);
    debug('refused', refused.exitCode, refused.stderr);
    expect(refused.exitCode).not.toBe(0);
    expect(JSON.stringify(envelope(refused.stdout).error)).toContain('TWL_STORE_UNAVAILABLE');
    // Both workers say that they wait (a worker with nothing in flight notices on its next poll).
    for (;;) {
      if (workers.every((w) => /PostgreSQL \(.+\) is unreachable .*waiting for it to come back/.test(w.stderr))) break;
      expect(Date.now() - stoppedAt, workers.map((w) => w.stderr).join('\n')).toBeLessThan(20_000);
      await sleep(200);
    }
    // Down for longer than two heartbeats (10 s each): every lease looks expired when it returns.
    await sleep(Math.max(0, 25_000 - (Date.now() - stoppedAt)));
    expect(workers.every((w) => !w.exited), workers.map((w) => w.stderr).join('\n')).toBe(true);
    debug('starting PostgreSQL', workers.map((w) => w.stderr).join('\n'));
    await pg.start();

    // After: more tasks, on the workers that waited.
    for (let i = 0; i < 3; i++) tasks.push(await create(`after-${i}`, ['--now']));
    const deadline = Date.now() + 90_000;
    const final = new Map<number, Shown>();
    while (final.size < tasks.length) {
      for (const t of tasks) {
        if (final.has(t.id)) continue;
        const s = await show(t.id);
        if (['completed', 'failed', 'dead_letter', 'cancelled'].includes(s.task.status)) final.set(t.id, s);
      }
      if (Date.now() > deadline) throw new Error(`not finished: ${JSON.stringify(tasks.filter((t) => !final.has(t.id)).map((t) => t.tag))}\n${workers.map((w) => w.stderr).join('\n')}`);
      debug('waiting', final.size, tasks.length);
      await sleep(500);
    }
    // Every task completed, with one completed execution and none lost.
    for (const t of tasks) {
      const s = final.get(t.id)!;
      expect(s.task.status, `${t.tag}: ${JSON.stringify(s)}`).toBe('completed');
      expect(s.executions.filter((e) => e.status === 'completed'), `${t.tag}: ${JSON.stringify(s)}`).toHaveLength(1);
      expect(s.executions.filter((e) => e.status === 'lost' || e.status === 'running'), `${t.tag}: ${JSON.stringify(s)}`).toEqual([]);
    }
    // The call in flight when PostgreSQL stopped finished during the outage and was recorded once back: one attempt.
    expect(final.get(slow.id)!.executions.map((e) => e.status)).toEqual(['completed']);
    // Each tool call happened exactly once, and the refused task never ran.
    const counted = marks();
    expect([...counted].sort()).toEqual(tasks.map((t) => t.tag).sort());
    // Both said they resumed.
    for (const w of workers) expect(w.stderr, w.stderr).toMatch(/is reachable again after \d+ s: resuming/);
    // The list agrees: nothing half-written by the refused create.
    const list = await cli(['task', 'list', '--json', '--limit', '100']);
    expect((envelope(list.stdout).result as { tasks: unknown[] }).tasks).toHaveLength(tasks.length);
  });
});
