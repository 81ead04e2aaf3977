import { randomUUID } from 'node:crypto';
import { execa } from 'execa';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { embeddedPaths } from '../../src/store/embedded.js';
import { openStore } from '../../src/store/open.js';
import type { Store } from '../../src/store/types.js';
import { bin, envelope, inheritedEnv, loadedFor, quietLogger, startHttpServe, stopServe, tempHome, twl, waitFor } from '../helpers.js';

/*
 * The store's retention with the built binary, on the embedded store of a single user (no worker):
 * `twl db prune` counts (--dry-run) then deletes what is past its retention; `twl serve` and
 * `twl db host` prune by themselves; and a GET /api/events client resuming after deleted events is
 * told so first (event: pruned).
 */

/** An old recurring task (3 executions 40 days old, with output), an old workflow run and an old one left waiting_approval; change-feed events backdated 8 days. */
async function seed(home: string): Promise<{ taskId: number; firstEvent: number }> {
  const store: Store = await openStore(loadedFor(home), quietLogger(), { role: 'retention e2e' });
  try {
    const taskId = Number(
      (await store.query<{ id: unknown }>("INSERT INTO twl_tasks (kind, tool, trigger, cron, retries, timeout_ms, created_by, status) VALUES ('tool', 'cache_cache_get', 'cron', '0 * * * *', 0, 1000, 'test', 'scheduled') RETURNING id")).rows[0]!.id,
    );
    for (let i = 0; i < 3; i++) {
      const { rows } = await store.query<{ id: unknown }>(
        "INSERT INTO twl_task_executions (task_id, job_id, attempt, worker, status, started_at, ended_at) VALUES ($1, $2, 1, 'w', 'completed', now() - interval '40 days', now() - interval '40 days') RETURNING id",
        [taskId, randomUUID()],
      );
      await store.query("INSERT INTO twl_task_output (execution_id, line) SELECT $1, 'line ' || n FROM generate_series(1, 5) n", [rows[0]!.id]);
    }
    await store.query("INSERT INTO twl_workflow_runs (workflow, status, actor, face, started_at, finished_at) VALUES ('old', 'completed', 'test', 'cli', now() - interval '40 days', now() - interval '40 days')");
    // Ended waiting for an approval nobody could give: nothing resumes it (approved, the workflow runs again as a new run).
    const waiting = await store.query<{ id: unknown }>(
      `INSERT INTO twl_workflow_runs (workflow, status, error, step, actor, face, started_at, finished_at, duration_ms)
       VALUES ('old', 'waiting_approval', '{"code":"TWL_APPROVAL_REQUIRED","message":"Step check waits for approval"}', 'check', 'test', 'cli', now() - interval '40 days', now() - interval '40 days', 5) RETURNING id`,
    );
    await store.query("INSERT INTO twl_workflow_steps (run_id, seq, path, step_id, kind, status, started_at) VALUES ($1, 1, 'check', 'check', 'tool', 'waiting_approval', now() - interval '40 days')", [waiting.rows[0]!.id]);
    const firstEvent = Number((await store.query<{ id: unknown }>('SELECT min(id) AS id FROM twl_events WHERE topic = $1 AND subject = $2', ['task', String(taskId)])).rows[0]!.id);
    await store.query("UPDATE twl_events SET at = now() - interval '8 days'");
    // A pass is due at once (one that ran before set the next a minute later).
    await store.query("UPDATE twl_upkeep SET due_at = now() WHERE job = 'retention'");
    return { taskId, firstEvent };
  } finally {
    await store.close();
  }
}

describe('retention of the embedded store of a single user', () => {
  let home: string;
  let cleanup: () => void;
  beforeAll(() => ({ home, cleanup } = tempHome('twl-retention-e2e-')));
  afterAll(() => cleanup?.());

  // No background host here: it would prune by itself, beside the command under test.
  const noHost = { TWL_STORE_AUTO_HOST: 'off' };
  const prune = async (...args: string[]) => {
    const r = await twl(['db', 'prune', ...args, '--json'], { home, env: noHost });
    expect(r.exitCode, r.stderr).toBe(0);
    const result = envelope(r.stdout).result as { dryRun: boolean; total: number; complete: boolean; tables: Array<{ table: string; setting: string; retentionMs: number; rows: number }> };
    return { ...result, rows: Object.fromEntries(result.tables.map((t) => [t.table, t.rows])) };
  };

  it('twl db prune --dry-run counts what is past its retention and deletes nothing; twl db prune deletes it', async () => {
    await seed(home);
    const counted = await prune('--dry-run');
    expect(counted.dryRun).toBe(true);
    // The task's latest execution stays: two of three go, with their 10 lines; both workflow runs (the waiting one with its step); every event but the newest.
    expect(counted.rows).toMatchObject({ twl_task_executions: 2, twl_task_output: 10, twl_workflow_runs: 2, twl_workflow_steps: 1, twl_audit: 0 });
    expect(counted.rows.twl_events).toBeGreaterThan(5);
    expect(counted.tables.find((t) => t.table === 'twl_audit')).toEqual({ table: 'twl_audit', setting: 'store.auditRetention', retentionMs: 0, rows: 0 });
    expect((await prune('--dry-run')).rows).toEqual(counted.rows);

    const done = await prune();
    expect(done).toMatchObject({ dryRun: false, complete: true, total: counted.total });
    expect(done.rows).toEqual(counted.rows);
    expect((await prune('--dry-run')).total).toBe(0);

    // For people: a table of the tables, and what it did.
    const text = await twl(['db', 'prune', '--dry-run'], { home, env: noHost });
    expect(text.stdout).toMatch(/twl_task_executions\s+30d \(store\.runRetention\)\s+0/);
    expect(text.stdout).toMatch(/twl_audit\s+off \(kept\) \(store\.auditRetention\)\s+0/);
    expect(text.stdout).toContain('Nothing is past its retention.');
  });

  it('a nonsense retention fails config validate and db prune, naming the key and what it takes', async () => {
    const env = { ...noHost, TWL_CONFIG: `${home}/bad.yaml` };
    const { writeFileSync } = await import('node:fs');
    writeFileSync(`${home}/bad.yaml`, 'store:\n  auditRetention: a year\n');
    for (const args of [['config', 'validate'], ['db', 'prune']]) {
      const r = await twl(args, { home, env });
      expect(r.exitCode).toBe(3);
      expect(r.stderr).toMatch(/store\.auditRetention: expected off or a retention such as 365d \(.*; 1d at least\), got "a year"/);
      expect(r.stderr).toContain('twl config validate');
    }
  });

  it('twl serve prunes with no worker running, and a GET /api/events resume after deleted events is told first', async () => {
    const made = await twl(['keys', 'create', '--role', 'viewer', '--name', `retention-${randomUUID().slice(0, 8)}`, '--json'], { home, env: noHost });
    expect(made.exitCode, made.stderr).toBe(0);
    const { key } = envelope(made.stdout).result as { key: string };
    const { taskId, firstEvent } = await seed(home);
    const serve = await startHttpServe(home);
    const client = new pg.Client({ host: embeddedPaths(home).runDir, port: 5432, user: 'postgres', database: 'postgres' });
    try {
      await client.connect();
      const executions = async () => Number((await client.query('SELECT count(*) AS n FROM twl_task_executions WHERE task_id = $1', [taskId])).rows[0].n);
      await waitFor('twl serve to prune the old executions', async () => ((await executions()) === 1 ? true : undefined), 60_000);
      const through = Number((await client.query("SELECT events_through FROM twl_upkeep WHERE job = 'retention'")).rows[0].events_through);
      expect(through).toBeGreaterThan(firstEvent);

      // Resuming after the task's first event, long deleted: the stream says so before anything else.
      const controller = new AbortController();
      const res = await fetch(`${serve.url}/api/events?task=${taskId}`, { headers: { authorization: `Bearer ${key}`, accept: 'text/event-stream', 'last-event-id': String(firstEvent) }, signal: controller.signal });
      expect(res.status).toBe(200);
      let text = '';
      for await (const chunk of res.body!) {
        text += new TextDecoder().decode(chunk as Uint8Array);
        if (text.split('\n\n').slice(0, -1).some((b) => b.includes('data: '))) break;
      }
      controller.abort();
      const block = text.split('\n\n').find((b) => b.includes('data: '))!;
      expect(block).toMatch(/^event: pruned$/m);
      expect(block).not.toMatch(/^id: /m);
      const data = JSON.parse(/^data: (.*)$/m.exec(block)![1]!) as Record<string, unknown>;
      expect(data).toMatchObject({ after: firstEvent, prunedThrough: through, oldest: expect.any(Number), message: expect.stringContaining('store.eventRetention') });
    } finally {
      await client.end().catch(() => undefined);
      await stopServe(serve);
    }
  });

  it('twl db host prunes too (the store host of CLI-only use)', async () => {
    const { taskId } = await seed(home);
    const host = execa(process.execPath, [bin, 'db', 'host'], { env: { ...inheritedEnv(), TWL_HOME: home, HOME: home }, cwd: home, extendEnv: false, reject: false });
    let client: pg.Client | undefined;
    try {
      client = await waitFor(
        'the store host',
        async () => {
          const c = new pg.Client({ host: embeddedPaths(home).runDir, port: 5432, user: 'postgres', database: 'postgres' });
          return c.connect().then(() => c, () => undefined);
        },
        120_000,
      );
      await waitFor(
        'twl db host to prune the old executions',
        async () => (Number((await client!.query('SELECT count(*) AS n FROM twl_task_executions WHERE task_id = $1', [taskId])).rows[0].n) === 1 ? true : undefined),
        60_000,
      );
    } finally {
      await client?.end().catch(() => undefined);
      host.kill('SIGTERM');
      await host;
    }
  });
});
