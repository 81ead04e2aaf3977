import { randomUUID } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa, type ResultPromise } from 'execa';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { POSTGRES_URL, bin, followTaskLogs, hasPostgres, inheritedEnv, root, tempHome, twl } from '../helpers.js';

/*
 * Real `twl worker` processes sharing one PostgreSQL: a cron schedule fires once per minute
 * whatever the number of workers (and across their restart), and a worker SIGKILLed mid-run
 * loses nothing (another retries the run once the lease expires; both attempts are recorded).
 * Then one worker on the embedded store, reached by the CLI through the store host's socket.
 */

interface Shown {
  task: { id: number; status: string; reason: string | null };
  executions: Array<{ id: number; jobId: string; attempt: number; status: string; worker: string; startedAt: string; endedAt: string | null; error: string | null }>;
}

const envelope = <T>(stdout: string): T => (JSON.parse(stdout) as { result: T }).result;
const fixture = path.join(root, 'test', 'fixtures', 'upstream-server.ts');

/** The input of a fixture `ticks` run with no ticks that answers only once `file` is gone. */
const heldUntilGone = (file: string) => {
  writeFileSync(file, '');
  return JSON.stringify({ count: 0, ms: 0, holdBeforeAnswer: file });
};

function setup(config: Record<string, unknown>, env: Record<string, string>) {
  const { home, cleanup } = tempHome('twl-workers-');
  // Short intervals so a lost lease is noticed in seconds (the heartbeat stays at its 10 s minimum).
  writeFileSync(path.join(home, '.twlrc.json'), JSON.stringify({ ...config, tasks: { retryDelay: '1s', superviseInterval: '1s' } }));
  const workers: Array<{ child: ResultPromise; exited: boolean }> = [];
  const cli = (args: string[]) => twl(args, { home, env });
  const start = async (name: string, extra: string[] = []) => {
    const child = execa(process.execPath, [bin, 'worker', '--name', name, '--concurrency', '1', '--grace', '5s', ...extra], {
      cwd: home,
      env: { ...inheritedEnv(), TWL_HOME: home, HOME: home, NO_COLOR: '1', ...env },
      extendEnv: false,
      reject: false,
    });
    const worker = { child, exited: false };
    void child.finally(() => (worker.exited = true));
    workers.push(worker);
    // Ready once it says so on stderr.
    await new Promise<void>((resolve, reject) => {
      let err = '';
      child.stderr!.on('data', (d: Buffer) => {
        err += d.toString();
        if (err.includes('takes runs from')) resolve();
      });
      void child.then((r) => reject(new Error(`worker ${name} exited (${r.exitCode}): ${err}`)));
    });
    // Wrapped: the child is a promise of its exit, and returning it from here would wait for that.
    return worker;
  };
  const show = async (id: number) => {
    const r = await cli(['task', 'show', String(id), '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    return envelope<Shown>(r.stdout);
  };
  const until = async (id: number, done: (s: Shown) => boolean, ms: number) => {
    const deadline = Date.now() + ms;
    for (;;) {
      const s = await show(id);
      if (done(s)) return s;
      if (process.env.TWL_TEST_DEBUG) console.log(JSON.stringify(s));
      if (Date.now() > deadline) throw new Error(`task #${id} did not get there in ${ms} ms: ${JSON.stringify(s)}`);
      await sleep(300);
    }
  };
  const stopAll = async () => {
    for (const w of workers) if (!w.exited) w.child.kill('SIGTERM');
    await Promise.all(workers.map((w) => w.child.catch(() => undefined)));
  };
  return { home, cleanup, cli, start, show, until, stopAll, workers };
}

describe.skipIf(!hasPostgres)('twl worker processes on PostgreSQL', () => {
  const schema = `pgboss_e${randomUUID().slice(0, 8)}`;
  const env = { TWL_DATABASE_URL: POSTGRES_URL, TWL_TASKS_SCHEMA: schema };
  let ctx: ReturnType<typeof setup>;

  beforeAll(() => {
    // The fixture upstream's `ticks` holds a run while a file exists: a test decides when it ends.
    ctx = setup({ upstreams: [{ name: 'fx', transport: 'stdio', command: process.execPath, args: [fixture], pin: false, timeout: '120s' }] }, env);
  });
  afterAll(async () => {
    await ctx.stopAll();
    const client = new pg.Client({ connectionString: POSTGRES_URL });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await client.end();
    ctx.cleanup();
  });

  it('a worker SIGKILLed mid-run loses nothing: another retries it after the lease expires, both attempts recorded', async () => {
    const a = await ctx.start('worker-a');
    const b = await ctx.start('worker-b');
    // The run holds until the test lets it go, so the worker is killed mid-run however slow the machine.
    const hold = path.join(ctx.home, 'hold-sigkill');
    const created = await ctx.cli(['task', 'create', '--tool', 'fx_ticks', '--input', heldUntilGone(hold), '--now', '--json']);
    expect(created.exitCode, created.stderr).toBe(0);
    const id = envelope<{ task: { id: number } }>(created.stdout).task.id;
    const running = await ctx.until(id, (s) => s.executions.some((e) => e.status === 'running'), 60_000);
    const first = running.executions[0]!;
    const victim = first.worker === 'worker-a' ? a : b;
    victim.child.kill('SIGKILL');
    await victim.child;
    // Let go: the retry, on the other worker, answers at once.
    rmSync(hold);
    const done = await ctx.until(id, (s) => s.task.status === 'completed', 90_000);
    expect(done.executions.map((e) => [e.attempt, e.status])).toEqual([
      [1, 'lost'],
      [2, 'completed'],
    ]);
    expect(done.executions[0]!.worker).toBe(first.worker);
    expect(done.executions[1]!.worker).not.toBe(first.worker);
    expect(done.executions[0]!.error).toContain('lease expired');
    // The output shows the takeover.
    const logs = await ctx.cli(['task', 'logs', String(id)]);
    expect(logs.stdout).toContain('attempt 2 of 3');
    expect(logs.stdout).toContain('the previous attempt lost its worker');
  });

  it('`task logs --follow` prints a running task\'s lines as they are produced, and ends with it', async () => {
    if (!ctx.workers.some((w) => !w.exited)) await ctx.start('worker-c');
    // Due in an hour: it runs when the test says (`task run`), once the follower follows; and it holds until let go.
    const hold = path.join(ctx.home, 'hold-follow');
    const created = await ctx.cli(['task', 'create', '--tool', 'fx_ticks', '--input', heldUntilGone(hold), '--at', new Date(Date.now() + 3_600_000).toISOString(), '--json']);
    expect(created.exitCode, created.stderr).toBe(0);
    const id = envelope<{ task: { id: number } }>(created.stdout).task.id;
    const follow = followTaskLogs(ctx.home, id, env);
    await follow.ready;
    const run = await ctx.cli(['task', 'run', String(id)]);
    expect(run.exitCode, run.stderr).toBe(0);
    // The first line reaches the follower while the run is held.
    await expect.poll(() => follow.printed.length, { timeout: 60_000, interval: 100 }).toBeGreaterThan(0);
    expect((await ctx.show(id)).task.status).toBe('running');
    const released = Date.now();
    rmSync(hold);
    const r = await follow.child;
    expect(r.exitCode, r.stderr).toBe(0);
    expect(follow.printed.map((s) => s.line)).toEqual([expect.stringContaining('attempt 1 of 3'), expect.stringMatching(/completed in \d+ ms/)]);
    expect(follow.printed[0]!.at).toBeLessThan(released);
    expect(follow.printed[1]!.at).toBeGreaterThanOrEqual(released);
    expect((await ctx.show(id)).task.status).toBe('completed');
  });

  it('a cron task with 3 workers fires exactly once per minute over 3 minutes, across a restart of every worker', async () => {
    await ctx.stopAll();
    await Promise.all(['cron-1', 'cron-2', 'cron-3'].map((n) => ctx.start(n)));
    const created = await ctx.cli(['task', 'create', '--tool', 'sentiment-analyzer_analyze_sentiment', '--input', '{"text":"tick"}', '--cron', '* * * * *', '--json']);
    expect(created.exitCode, created.stderr).toBe(0);
    const id = envelope<{ task: { id: number; status: string } }>(created.stdout).task.id;
    const once = await ctx.until(id, (s) => s.executions.length >= 1, 80_000);
    // Every worker stops and three new ones start (at once: the shorter the gap, the less it asks of
    // the cron pass's 60 s due window): the schedule lives in the database.
    await ctx.stopAll();
    await Promise.all(['cron-4', 'cron-5', 'cron-6'].map((n) => ctx.start(n)));
    const twice = await ctx.until(id, (s) => s.executions.length >= 2, 80_000);
    await ctx.until(id, (s) => s.executions.length >= 3, 80_000);
    // Stopped, nothing more is sent or run: what was, is all there is to count.
    await ctx.stopAll();
    const final = await ctx.show(id);
    // The minute each run was for is the one the cron pass sent it for (an execution records its
    // start, which a slow pick-up can push into the next minute): pg-boss files each occurrence it
    // forwards as a job of its send-it queue, under the minute's slot, once per slot.
    const client = new pg.Client({ connectionString: POSTGRES_URL });
    await client.connect();
    const sent = await client
      .query<{ slot: string }>(`SELECT data->>'slot' AS slot FROM ${schema}.job WHERE name = '__pgboss__send-it' AND data->>'key' = $1 ORDER BY 1`, [String(id)])
      .finally(() => client.end());
    const slots = sent.rows.map((r) => Date.parse(`${r.slot.replace(' ', 'T')}Z`));
    // One minute after another: no tick skipped, none sent twice.
    expect(slots.length).toBeGreaterThanOrEqual(3);
    expect(slots.map((t, i) => (i ? (t - slots[i - 1]!) / 60_000 : 1))).toEqual(slots.map(() => 1));
    // Each sent run ran once (the last one sent may not have been picked up before the stop): none twice.
    expect(final.executions.length).toBeGreaterThanOrEqual(3);
    expect([slots.length - 1, slots.length]).toContain(final.executions.length);
    expect(new Set(final.executions.map((e) => e.jobId)).size).toBe(final.executions.length);
    expect(final.executions.every((e) => e.status === 'completed' && e.attempt === 1)).toBe(true);
    expect(final.task.status).toBe('scheduled');
    expect(twice.executions[1]!.worker).toMatch(/^cron-[456]$/);
    expect(once.executions[0]!.worker).toMatch(/^cron-[123]$/);
    // Cancel takes it off the schedule.
    expect((await ctx.cli(['task', 'cancel', String(id)])).exitCode).toBe(0);
  });
});

describe('a twl worker on the embedded store', () => {
  let ctx: ReturnType<typeof setup>;
  beforeAll(() => {
    ctx = setup({}, {});
  });
  afterAll(async () => {
    await ctx.stopAll();
    ctx.cleanup();
  });

  it('hosts the store; CLI commands create tasks through its socket and the worker runs them; SIGTERM stops it cleanly', async () => {
    const worker = await ctx.start('embedded-1');
    const created = await ctx.cli(['task', 'create', '--tool', 'sentiment-analyzer_analyze_sentiment', '--input', '{"text":"great, it works"}', '--now', '--json']);
    expect(created.exitCode, created.stderr).toBe(0);
    const id = envelope<{ task: { id: number } }>(created.stdout).task.id;
    const done = await ctx.until(id, (s) => s.task.status === 'completed', 60_000);
    expect(done.executions).toMatchObject([{ attempt: 1, status: 'completed', worker: 'embedded-1' }]);
    const list = await ctx.cli(['task', 'list']);
    expect(list.stdout).toContain(`#${id}`);
    worker.child.kill('SIGTERM');
    const r = await worker.child;
    expect(r.exitCode).toBe(0);
  });

  it('answers bad input with the problem, the fix and exit 2, writing nothing', async () => {
    const bad = await ctx.cli(['task', 'create', '--tool', 'sentiment-analyzer_analyze_sentiment', '--input', '{"text":"x"}', '--cron', '*/61 * * *', '--json']);
    expect(bad.exitCode).toBe(2);
    expect(JSON.parse(bad.stdout).error).toMatchObject({ code: 'TWL_INPUT_INVALID', message: expect.stringContaining('has 4 fields') });
    const notJson = await ctx.cli(['task', 'create', '--tool', 'x', '--input', '{text:', '--now']);
    expect(notJson.exitCode).toBe(2);
    expect(notJson.stderr).toContain('--input is not JSON');
    const badId = await ctx.cli(['task', 'show', 'abc']);
    expect(badId.exitCode).toBe(2);
    expect(badId.stderr).toContain('"abc" is not a task id');
    const missing = await ctx.cli(['task', 'cancel', '99999']);
    expect(missing.exitCode).toBe(7);
    expect(missing.stderr).toContain('There is no task #99999');
  });
});
