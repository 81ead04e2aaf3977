import { execa, type ResultPromise } from 'execa';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bin, envelope, hasPostgres, inheritedEnv, scratchDatabase, tempHome, twl } from '../helpers.js';

/*
 * A workflow run whose process dies: a real `twl workflow run` SIGKILLed in the middle of a slow
 * step stops renewing its lease (store.workflowLease, 1s here); once it ran out, the store's upkeep
 * (`twl db prune` makes a pass now) marks the run failed with the reason, and its running step with
 * it. Another process's run, alive and renewing its lease, is left running. On the embedded store
 * (through the store host) and on PostgreSQL (a scratch database).
 */

interface Shown {
  run: { id: number; status: string; step: string | null; error: { code: string; message: string } | null; finishedAt: string | null };
  steps: Array<{ path: string; status: string; error: { code: string; message: string } | null }>;
}

const slow = (name: string) => `
name: ${name}
steps:
  - { id: first, kind: tool, tool: cache_cache_stats }
  - { id: nap, kind: tool, tool: real-desktop-commander_execute_command, input: { command: ["sleep", "120"], timeout_ms: 240000 } }
  - { id: never, kind: tool, tool: cache_cache_stats }
`;

const backends = ['embedded', ...(hasPostgres ? ['postgres'] : [])];

describe.each(backends)('a workflow run whose process died (%s)', (backend) => {
  let home: string;
  let cleanup: () => void;
  let drop: (() => Promise<void>) | undefined;
  let env: Record<string, string> = {};
  const children: ResultPromise[] = [];

  beforeAll(async () => {
    ({ home, cleanup } = tempHome('twl-wf-lease-'));
    if (backend === 'postgres') {
      const db = await scratchDatabase('twl_wf_lease');
      drop = db.drop;
      env = { TWL_DATABASE_URL: db.url };
    }
    writeFileSync(path.join(home, '.twlrc.json'), JSON.stringify({ commander: { cwd: [home], timeout: '5m', rules: [{ program: 'sleep', decision: 'allow', reason: 'the slow step' }] } }));
    mkdirSync(path.join(home, 'workflows'));
    for (const name of ['doomed', 'alive']) writeFileSync(path.join(home, 'workflows', `${name}.yaml`), slow(name));
  });
  afterAll(async () => {
    for (const c of children) c.kill('SIGTERM');
    await Promise.all(children.map((c) => c.catch(() => undefined)));
    await drop?.();
    cleanup?.();
  });

  const cli = (args: string[]) => twl(args, { home, env });
  const show = async (id: number): Promise<Shown> => {
    const r = await cli(['workflow', 'show', String(id), '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    return envelope(r.stdout).result as unknown as Shown;
  };
  /** A `twl workflow run` in the background, once its slow step runs and its run is recorded. */
  const start = async (workflow: string, lease: string): Promise<{ child: ResultPromise; run: number; exited: () => boolean }> => {
    const child = execa(process.execPath, [bin, 'workflow', 'run', workflow], {
      cwd: home,
      env: { ...inheritedEnv(), TWL_HOME: home, HOME: home, NO_COLOR: '1', TWL_STORE_LOCK_TIMEOUT: '20s', TWL_STORE_WORKFLOW_LEASE: lease, ...env },
      extendEnv: false,
      reject: false,
    });
    children.push(child);
    let exited = false;
    void child.finally(() => (exited = true));
    let stderr = '';
    await new Promise<void>((resolve, reject) => {
      child.stderr!.on('data', (d: Buffer) => {
        stderr += d.toString();
        if (/nap: calling/.test(stderr)) resolve();
      });
      void child.then((r) => reject(new Error(`${workflow} exited (${r.exitCode}) before its slow step: ${stderr}`)));
    });
    // Its row is written in a batch shortly after (the steps' first flush).
    for (;;) {
      const r = await cli(['workflow', 'runs', workflow, '--json']);
      expect(r.exitCode, r.stderr).toBe(0);
      const runs = (envelope(r.stdout).result as { runs: Array<{ id: number; status: string }> }).runs;
      if (runs[0]?.status === 'running') return { child, run: runs[0].id, exited: () => exited };
      await sleep(200);
    }
  };

  it('is marked failed by the upkeep once its lease ran out; a live run of another process is left running', async () => {
    const alive = await start('alive', '1m');
    const doomed = await start('doomed', '1s');
    doomed.child.kill('SIGKILL');
    await doomed.child;

    // The upkeep, until it finds the lease run out (a second after the last renewal).
    let lost: Shown;
    // A bound for a build that never ends it (then the test fails saying so), not a measure of speed.
    const giveUp = Date.now() + 120_000;
    for (;;) {
      const pass = await cli(['db', 'prune']);
      expect(pass.exitCode, pass.stderr).toBe(0);
      lost = await show(doomed.run);
      if (lost.run.status !== 'running') {
        expect(pass.stderr).toContain(`workflow run #${doomed.run} (doomed) marked failed`);
        break;
      }
      if (Date.now() > giveUp) throw new Error(`run #${doomed.run}, whose process was killed, is still ${lost.run.status} two minutes later: nothing ended it`);
      await sleep(300);
    }
    expect(lost.run).toMatchObject({ status: 'failed', step: 'nap', error: { code: 'TWL_WORKFLOW_LOST' } });
    expect(lost.run.error!.message).toMatch(/its process \(.+ pid \d+\) stopped renewing the run's lease/);
    expect(lost.run.finishedAt).not.toBeNull();
    expect(lost.steps.map((s) => [s.path, s.status])).toEqual([
      ['first', 'completed'],
      ['nap', 'failed'],
    ]);
    expect(lost.steps[1]!.error?.code).toBe('TWL_WORKFLOW_LOST');
    // Listed as failed, no longer as running.
    const running = await cli(['workflow', 'runs', '--status', 'running', '--json']);
    expect((envelope(running.stdout).result as { runs: Array<{ id: number }> }).runs.map((r) => r.id)).toEqual([alive.run]);

    // The live run: its owner renews its lease, and the upkeep leaves it alone.
    expect(alive.exited()).toBe(false);
    const again = await cli(['db', 'prune']);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.stderr).not.toContain('marked failed');
    expect((await show(alive.run)).run).toMatchObject({ status: 'running', error: null, finishedAt: null });
    expect((await show(alive.run)).steps.find((s) => s.path === 'nap')?.status).toBe('running');
  });
});
