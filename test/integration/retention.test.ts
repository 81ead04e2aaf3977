import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Runtime } from '../../src/runtime/context.js';
import { invoke } from '../../src/ops/invoke.js';
import runWorkflowOp from '../../src/ops/workflow/run.js';
import { EventFollower, type PrunedGap } from '../../src/studio/events.js';
import { appendOutput, insertTask } from '../../src/studio/tasks.js';
import { claimPass, countExpired, holderName, prune, prunePass, releasePass } from '../../src/store/retention.js';
import type { Store } from '../../src/store/types.js';
import { errorOf, isolatedRuntime } from '../helpers.js';
import { runtimeBackends } from './backends.js';

/*
 * Retention of the run history (store.runRetention) and, opt-in, of the audit trails
 * (store.auditRetention), on both stores: what goes (old, ended, nothing kept refers to it, with the
 * rows that refer to it, a workflow run left waiting_approval too), what stays whatever its age
 * (what runs or waits its turn, a task's latest execution, a run a kept row refers to, the audit
 * trails by default), a batch at a time; the claim
 * that makes processes sharing a store take turns; and a change-feed resume after a prune told so.
 * PostgreSQL: a database of its own, since this deletes rows other test files read.
 */

describe.each(runtimeBackends)('retention on $name', ({ name, available }) => {
  let runtime: Runtime;
  let store: Store;
  let close: () => Promise<void>;

  beforeAll(async () => {
    if (!available) return;
    // A workflow whose step asks for approval: with nobody to answer, its run ends waiting_approval.
    ({ runtime, close } = await isolatedRuntime(name, 'twl-run-retention', { workflows: [{ name: 'asks', steps: [{ id: 'check', kind: 'tool', tool: 'cache_cache_stats', approval: 'ask' }] }] }));
    store = await runtime.store();
  });
  afterAll(async () => {
    if (available) await close();
  });

  const settings = () => runtime.config.store;
  const ids = async (table: string, where = 'true') => (await store.query<{ id: unknown }>(`SELECT id FROM ${table} WHERE ${where} ORDER BY id`)).rows.map((r) => Number(r.id));
  const count = async (sql: string, params: unknown[] = []) => Number((await store.query<{ n: unknown }>(sql, params)).rows[0]!.n);
  const task = async () =>
    (await insertTask(store, { kind: 'tool', tool: 'cache_cache_get', input: {}, queue: 'default', trigger: 'now', retries: 0, timeoutMs: 1000, needsApproval: false, createdBy: 'test', status: 'pending' })).id;
  /** An execution that ended `days` ago (running: started then, not ended). */
  const execution = async (taskId: number, days: number, status = 'completed') =>
    Number(
      (
        await store.query<{ id: unknown }>(
          `INSERT INTO twl_task_executions (task_id, job_id, attempt, worker, status, started_at, ended_at)
           VALUES ($1, $2, 1, 'w', $3, now() - make_interval(days => $4), CASE WHEN $3 = 'running' THEN NULL ELSE now() - make_interval(days => $4) END) RETURNING id`,
          [taskId, randomUUID(), status, days],
        )
      ).rows[0]!.id,
    );
  const agentRun = async (days: number, status = 'completed', refs: { parent?: number; execution?: number } = {}) => {
    const id = Number(
      (
        await store.query<{ id: unknown }>(
          `INSERT INTO twl_agent_runs (agent, parent_run, execution_id, prompt, status, actor, started_at, ended_at)
           VALUES ('retained', $1, $2, 'p', $3, 'test', now() - make_interval(days => $4), CASE WHEN $3 IN ('waiting', 'running') THEN NULL ELSE now() - make_interval(days => $4) END) RETURNING id`,
          [refs.parent ?? null, refs.execution ?? null, status, days],
        )
      ).rows[0]!.id,
    );
    await store.query("INSERT INTO twl_agent_steps (run_id, kind, name, ok) VALUES ($1, 'tool', 'a', true), ($1, 'model', NULL, true)", [id]);
    return id;
  };
  const workflowRun = async (days: number, status = 'completed') => {
    const id = Number(
      (
        await store.query<{ id: unknown }>(
          `INSERT INTO twl_workflow_runs (workflow, status, actor, face, started_at, finished_at)
           VALUES ('retained', $1, 'test', 'cli', now() - make_interval(days => $2), CASE WHEN $1 = 'running' THEN NULL ELSE now() - make_interval(days => $2) END) RETURNING id`,
          [status, days],
        )
      ).rows[0]!.id,
    );
    await store.query("INSERT INTO twl_workflow_steps (run_id, seq, path, step_id, kind, status, started_at) VALUES ($1, 1, 'a', 'a', 'tool', 'completed', now()), ($1, 2, 'b', 'b', 'tool', 'completed', now())", [id]);
    return id;
  };

  it.skipIf(!available)('deletes the run history past store.runRetention with what refers to it, and keeps what runs, waits its turn, is a task\'s latest execution or is referred to', async () => {
    expect(settings().runRetention).toBe(30 * 86_400_000);
    // A recurring task: three old executions, the last one its latest.
    const cron = await task();
    const [e1, e2, e3] = [await execution(cron, 40), await execution(cron, 35, 'failed'), await execution(cron, 31)];
    await appendOutput(store, e1!, ['one', 'two', 'three']);
    await appendOutput(store, e3!, ['kept']);
    // An old attempt still marked running, and one an old agent run belongs to (deleted first, then it).
    const other = await task();
    const running = await execution(other, 60, 'running');
    const withAgent = await execution(other, 45);
    const agentOfExecution = await agentRun(45, 'completed', { execution: withAgent });
    const recent = await execution(other, 1);
    // Agent runs: a delegation tree all old (goes, delegate first), a waiting one, one whose delegate is recent.
    const parent = await agentRun(50);
    const delegate = await agentRun(50, 'failed', { parent });
    const waiting = await agentRun(50, 'waiting');
    const referred = await agentRun(50);
    const youngDelegate = await agentRun(2, 'completed', { parent: referred });
    // Workflow runs: old and done, or left waiting_approval (go, with their steps), old but running (stays), recent (stays).
    const [doneRun, waitingRun, runningRun, recentRun] = [await workflowRun(40), await workflowRun(40, 'waiting_approval'), await workflowRun(40, 'running'), await workflowRun(3)];

    // What a prune would delete, counted first: nothing deleted.
    const due = await countExpired(store, settings());
    expect(due).toMatchObject({ twl_task_executions: 3, twl_task_output: 3, twl_workflow_runs: 2, twl_workflow_steps: 4 });
    // The agent runs past their retention: of the old ones, all but the waiting one (the one whose delegate is recent is counted: it is old).
    expect(due.twl_agent_runs).toBe(4);
    expect(await ids('twl_task_executions', `task_id IN (${cron}, ${other})`)).toEqual([e1, e2, e3, running, withAgent, recent]);

    const { deleted, complete } = await prune(store, settings());
    expect(complete).toBe(true);
    expect(deleted).toMatchObject({ twl_task_executions: 3, twl_task_output: 3, twl_agent_runs: 3, twl_agent_steps: 6, twl_workflow_runs: 2, twl_workflow_steps: 4 });
    expect(await ids('twl_task_executions', `task_id IN (${cron}, ${other})`)).toEqual([e3, running, recent]);
    expect(await count('SELECT count(*) AS n FROM twl_task_output WHERE execution_id = ANY($1::bigint[])', [[e1, e3]])).toBe(1);
    expect(await ids('twl_agent_runs', "agent = 'retained'")).toEqual([waiting, referred, youngDelegate]);
    expect(await count('SELECT count(*) AS n FROM twl_agent_steps WHERE run_id = ANY($1::bigint[])', [[parent, delegate, agentOfExecution]])).toBe(0);
    expect(await ids('twl_workflow_runs', "workflow = 'retained'")).toEqual([runningRun, recentRun]);
    expect(await count('SELECT count(*) AS n FROM twl_workflow_steps WHERE run_id = ANY($1::bigint[])', [[doneRun, waitingRun]])).toBe(0);
    // Nothing left to do; off keeps everything.
    // Nothing left that can go: counted still, the old run whose delegate is recent (and its 2 steps), which a prune keeps.
    expect(Object.entries(await countExpired(store, settings())).filter(([, n]) => n)).toEqual([['twl_agent_runs', 1], ['twl_agent_steps', 2]]);
    expect(Object.values((await prune(store, settings())).deleted).reduce((a, b) => a + b, 0)).toBe(0);
    await store.query("UPDATE twl_task_executions SET ended_at = now() - interval '400 days' WHERE id = $1", [recent]);
    expect((await prune(store, { ...settings(), runRetention: 0 })).deleted.twl_task_executions).toBe(0);
  });

  it.skipIf(!available)('deletes a workflow run left waiting_approval once it ended longer ago than store.runRetention, as any ended run: nothing resumes it', async () => {
    const waits = async () => {
      const err = await errorOf(invoke(runWorkflowOp, runtime, { name: 'asks', input: {} }));
      expect(err.code).toBe('TWL_APPROVAL_REQUIRED');
      return (err.details as { run: number }).run;
    };
    const [old, recent] = [await waits(), await waits()];
    // As the engine leaves such a run: ended (its end recorded), no lease, its step waiting.
    const { rows } = await store.query<{ status: string; ended: boolean; lease_until: unknown }>(
      'SELECT status, finished_at IS NOT NULL AS ended, lease_until FROM twl_workflow_runs WHERE id = ANY($1::bigint[]) ORDER BY id',
      [[old, recent]],
    );
    expect(rows).toEqual([0, 1].map(() => ({ status: 'waiting_approval', ended: true, lease_until: null })));
    expect(await count("SELECT count(*) AS n FROM twl_workflow_steps WHERE run_id = $1 AND status = 'waiting_approval'", [old])).toBe(1);
    // One ended 40 days ago; the other started 40 days ago but ended 3 days ago (its age counts from its end).
    await store.query("UPDATE twl_workflow_runs SET started_at = now() - interval '40 days', finished_at = now() - interval '40 days' WHERE id = $1", [old]);
    await store.query("UPDATE twl_workflow_runs SET started_at = now() - interval '40 days', finished_at = now() - interval '3 days' WHERE id = $1", [recent]);

    expect(await countExpired(store, settings())).toMatchObject({ twl_workflow_runs: 1, twl_workflow_steps: 1 });
    const { deleted } = await prune(store, settings());
    expect(deleted).toMatchObject({ twl_workflow_runs: 1, twl_workflow_steps: 1 });
    expect(await ids('twl_workflow_runs', "workflow = 'asks'")).toEqual([recent]);
    expect(await count('SELECT count(*) AS n FROM twl_workflow_steps WHERE run_id = $1', [old])).toBe(0);
    expect(await count('SELECT count(*) AS n FROM twl_workflow_steps WHERE run_id = $1', [recent])).toBe(1);
    // store.runRetention off: kept forever, waiting or not.
    await store.query("UPDATE twl_workflow_runs SET finished_at = now() - interval '400 days' WHERE id = $1", [recent]);
    expect((await prune(store, { ...settings(), runRetention: 0 })).deleted.twl_workflow_runs).toBe(0);
    expect(await ids('twl_workflow_runs', "workflow = 'asks'")).toEqual([recent]);
    await prune(store, settings());
    expect(await ids('twl_workflow_runs', "workflow = 'asks'")).toEqual([]);
  });

  it.skipIf(!available)('deletes a bounded batch per statement, and stops after maxBatches with the rest for the next pass', async () => {
    const t = await task();
    const old = [];
    for (let i = 0; i < 7; i++) old.push(await execution(t, 40 + i));
    await execution(t, 0);
    for (const e of old) await appendOutput(store, e, ['a', 'b', 'c']);
    // Batches of 2: 21 lines take 11 statements; one batch per table deletes 2 lines and no execution yet.
    const first = await prune(store, settings(), { batch: 2, maxBatches: 1 });
    expect(first.complete).toBe(false);
    expect(first.deleted).toMatchObject({ twl_task_output: 2, twl_task_executions: 0 });
    const rest = await prune(store, settings(), { batch: 2 });
    expect(rest.complete).toBe(true);
    expect(rest.deleted).toMatchObject({ twl_task_output: 19, twl_task_executions: 7 });
    expect(await ids('twl_task_executions', `task_id = ${t}`)).toHaveLength(1);
  });

  it.skipIf(!available)('keeps the audit trails by default; store.auditRetention deletes their old rows (not a command still running), and nothing else may', async () => {
    const actor = `retention-${randomUUID()}`;
    const audit = (days: number, outcome: string) =>
      store.query(
        `INSERT INTO twl_audit (at, actor, program, args, decision, rule, outcome) VALUES (now() - make_interval(days => $1), $2, 'ls', '[]', 'allow', 'r', $3)`,
        [days, actor, outcome],
      );
    await audit(400, 'ran');
    await audit(400, 'started');
    await audit(10, 'refused');
    await store.query(
      `INSERT INTO twl_tool_calls (at, actor, face, tool, source, decision, outcome) VALUES (now() - interval '400 days', $1, 'cli', 't', 'twl', 'allowed', 'ok'), (now(), $1, 'cli', 't', 'twl', 'allowed', 'ok')`,
      [actor],
    );
    const outcomes = async () => (await store.query<{ outcome: string }>('SELECT outcome FROM twl_audit WHERE actor = $1 ORDER BY id', [actor])).rows.map((r) => r.outcome);
    expect(settings().auditRetention).toBe(0);
    expect((await prune(store, settings())).deleted).toMatchObject({ twl_audit: 0, twl_tool_calls: 0 });
    expect(await outcomes()).toEqual(['ran', 'started', 'refused']);
    const yearly = { ...settings(), auditRetention: 365 * 86_400_000 };
    expect(await countExpired(store, yearly)).toMatchObject({ twl_audit: 1, twl_tool_calls: 1 });
    expect((await prune(store, yearly)).deleted).toMatchObject({ twl_audit: 1, twl_tool_calls: 1 });
    expect(await outcomes()).toEqual(['started', 'refused']);
    expect(await count('SELECT count(*) AS n FROM twl_tool_calls WHERE actor = $1', [actor])).toBe(1);
    // Still append-only for every other writer.
    await expect(store.query('DELETE FROM twl_audit WHERE actor = $1', [actor])).rejects.toThrow(/append-only/);
    await expect(store.query('DELETE FROM twl_tool_calls WHERE actor = $1', [actor])).rejects.toThrow(/append-only/);
  });

  it.skipIf(!available)('processes sharing the store take turns: one pass at a time, the next one due a minute later', async () => {
    const a = holderName('test a');
    const b = holderName('test b');
    await store.query("DELETE FROM twl_upkeep WHERE job = 'retention'");
    expect(await claimPass(store, a)).toBe(true);
    // While a holds it, b neither claims it nor prunes, even forced.
    expect(await claimPass(store, b, true)).toEqual({ holder: a, heldUntil: expect.any(String) });
    expect(await prunePass(store, settings(), { holder: b, force: true })).toBeUndefined();
    await releasePass(store, a, {}, 60_000);
    // Released with the next pass due in a minute: not due for b, unless forced (twl db prune).
    expect(await prunePass(store, settings(), { holder: b })).toBeUndefined();
    expect(await prunePass(store, settings(), { holder: b, force: true })).toMatchObject({ complete: true });
    const row = (await store.query<{ holder: unknown; due: boolean }>("SELECT holder, due_at > now() + interval '50 seconds' AS due FROM twl_upkeep WHERE job = 'retention'")).rows[0]!;
    expect(row).toEqual({ holder: null, due: true });
  });

  it.skipIf(!available)('a change-feed resume after events the prune deleted is told which ones are gone', async () => {
    const t = await task();
    const e = await execution(t, 0, 'running');
    await appendOutput(store, e, ['old 1', 'old 2', 'old 3']);
    const { rows } = await store.query<{ id: unknown }>('SELECT id FROM twl_events ORDER BY id');
    const seen = Number(rows[0]!.id);
    await store.query("UPDATE twl_events SET at = now() - interval '8 days'");
    await appendOutput(store, e, ['new']);
    const { deleted } = await prune(store, settings());
    expect(deleted.twl_events).toBeGreaterThanOrEqual(3);
    const oldest = Number((await store.query<{ id: unknown }>('SELECT min(id) AS id FROM twl_events')).rows[0]!.id);
    const resume = async (after: number) => {
      const gaps: PrunedGap[] = [];
      const lines: unknown[] = [];
      const stop = await new EventFollower(runtime, { pollMs: 50 }).follow({ task: t }, (events) => void lines.push(...events.filter((x) => x.kind === 'output').map((x) => x.payload.text)), { after, onPruned: (gap) => void gaps.push(gap) });
      stop();
      return { gaps, lines };
    };
    const behind = await resume(seen);
    expect(behind.gaps).toEqual([{ after: seen, prunedThrough: oldest - 1, oldest }]);
    expect(behind.lines).toEqual(['new']);
    // A client that saw everything deleted is not told.
    expect((await resume(oldest - 1)).gaps).toEqual([]);
  });
});
