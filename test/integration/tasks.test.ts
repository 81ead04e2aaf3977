import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { invoke } from '../../src/ops/invoke.js';
import approveOp from '../../src/ops/task/approve.js';
import cancelOp from '../../src/ops/task/cancel.js';
import createOp from '../../src/ops/task/create.js';
import logsOp from '../../src/ops/task/logs.js';
import pauseOp from '../../src/ops/task/pause.js';
import resumeOp from '../../src/ops/task/resume.js';
import runOp from '../../src/ops/task/run.js';
import showOp from '../../src/ops/task/show.js';
import { jobQueue } from '../../src/studio/queue.js';
import { withQueue } from '../../src/studio/service.js';
import { claimRun, finishRun, insertTask, outputOf, taskStatuses, transition } from '../../src/studio/tasks.js';
import { errorOf } from '../helpers.js';
import { configBackends } from './backends.js';
import { taskHarness } from './task-harness.js';

/*
 * Tasks on both store backends, with a real worker (pg-boss) in this process: runs, retries,
 * dead letters, approvals, pause/resume/cancel, the transition table, and the refusals.
 */

const SENTIMENT = 'sentiment-analyzer_analyze_sentiment';
// Each PostgreSQL run gets its own pg-boss schema: the test database is shared by concurrent runs.
const schema = `pgboss_t${randomUUID().slice(0, 8)}`;
const tasksConfig = { schema, retryDelay: '1s', superviseInterval: '2s' };

const backends = configBackends({ tasks: tasksConfig }, { embedded: 'embedded (hosted)' });

describe.each(backends)('tasks on the $name store', (backend) => {
  const t = taskHarness(backend, { schema, prefix: 'twl-tasks-', role: 'tasks test', worker: 'test-worker' });
  const create = (input: Record<string, unknown>) => invoke(createOp, t.runtime, input);
  const show = (id: number) => invoke(showOp, t.runtime, { id });
  const until = t.until;

  it.skipIf(!backend.available)('runs a --now tool task: queued → running → completed, one execution with its output and tool call', async () => {
    const { task } = await create({ tool: SENTIMENT, input: { text: 'the server is down again, this is terrible' }, now: true, name: 'now' });
    expect(task).toMatchObject({ status: 'queued', kind: 'tool', tool: SENTIMENT, trigger: 'now', createdBy: 'test' });
    const shown = await until(task.id, ['completed']);
    expect(shown.executions).toHaveLength(1);
    const [e] = shown.executions;
    expect(e).toMatchObject({ attempt: 1, status: 'completed', worker: 'test-worker', error: null });
    expect((e!.output as { sentiment: string }).sentiment).toBe('negative');
    expect(e!.toolCalls).toEqual([expect.objectContaining({ tool: SENTIMENT, ok: true })]);
    expect(e!.endedAt! >= e!.startedAt).toBe(true);
    const logs = await invoke(logsOp, t.runtime, { id: task.id });
    expect(logs.done).toBe(true);
    expect(logs.lines.map((l) => l.line)).toEqual([expect.stringContaining(`attempt 1 of 3 on test-worker: calling ${SENTIMENT}`), expect.stringMatching(/^completed in \d+ ms: .*negative/)]);
    // The call went through the tool catalog's one call path: its audit row says a task made it, with the task role ceiling.
    // (The catalog writes its audit rows in batches, within a second or so.)
    await expect
      .poll(async () => (await t.store.query<Record<string, unknown>>('SELECT via, role, tool, outcome FROM twl_tool_calls WHERE actor = $1', [`task:${task.id}`])).rows, { timeout: 10_000 })
      .toEqual([{ via: 'task', role: 'manager', tool: SENTIMENT, outcome: 'ok' }]);
    // Following from the last line gives nothing more.
    expect((await invoke(logsOp, t.runtime, { id: task.id, after: logs.lines.at(-1)!.id })).lines).toEqual([]);
  });

  it.skipIf(!backend.available)('a key limited to namespaces schedules only what it may call, and the task keeps its grant', async () => {
    const caller = (namespaces: string[]) => ({ caller: { face: 'rest' as const, actor: 'rest:key:7', role: 'manager' as const, namespaces } });
    const { task } = await invoke(createOp, t.runtime, { tool: SENTIMENT, input: { text: 'fine' }, now: true }, caller(['twl']));
    expect(task).toMatchObject({ tool: SENTIMENT, namespaces: ['twl'] });
    expect((await create({ tool: SENTIMENT, input: { text: 'fine' }, now: true })).task.namespaces).toBeNull();
    await expect(invoke(createOp, t.runtime, { tool: SENTIMENT, input: { text: 'fine' }, now: true }, caller(['memory']))).rejects.toMatchObject({ code: 'TWL_TOOL_UNKNOWN', message: `No tool named "${SENTIMENT}".` });
    await expect(invoke(createOp, t.runtime, { workflow: 'anything', input: {}, now: true }, caller(['twl']))).rejects.toMatchObject({ code: 'TWL_TOOL_UNKNOWN', message: 'No tool named "workflow_anything".' });
    // An agent task is accepted (its runs are held to the grant: test/integration/task-grants.test.ts); an unknown agent is still refused.
    await expect(invoke(createOp, t.runtime, { agent: 'anyone', prompt: 'x', now: true }, caller(['twl']))).rejects.toMatchObject({ code: 'TWL_AGENT_NOT_FOUND' });
  });

  it.skipIf(!backend.available)('runs an --at task at its time, not before', async () => {
    const at = new Date(Date.now() + 3000).toISOString();
    const { task } = await create({ tool: SENTIMENT, input: { text: 'fine' }, at });
    expect(task.status).toBe('scheduled');
    // Every look answered before the due time finds it still scheduled (a look answered later proves
    // nothing, so a stalled test machine cannot fail this); then it runs, not before its time.
    for (;;) {
      const status = (await show(task.id)).task.status;
      if (Date.now() >= new Date(at).getTime()) break;
      expect(status).toBe('scheduled');
      await sleep(200);
    }
    const shown = await until(task.id, ['completed']);
    expect(new Date(shown.executions[0]!.startedAt).getTime()).toBeGreaterThanOrEqual(new Date(at).getTime());
  });

  it.skipIf(!backend.available)('retries a failing run with backoff, then dead-letters it with the reason; every attempt is an execution', async () => {
    // An unknown database target fails at run time (the configuration may change): retried.
    const { task } = await create({ tool: 'database_db_health', input: { target: 'nowhere' }, now: true, retries: 1 });
    const shown = await until(task.id, ['dead_letter'], 60_000);
    expect(shown.executions.map((e) => [e.attempt, e.status])).toEqual([
      [1, 'failed'],
      [2, 'failed'],
    ]);
    expect(shown.executions[0]!.error).toContain('Unknown database target "nowhere"');
    expect(shown.task.reason).toMatch(/^dead-lettered after 2 attempts; the last failed with: Unknown database target "nowhere"/);
    // Backoff: the retry starts at least retryDelay (1 s) after the first attempt ended.
    expect(new Date(shown.executions[1]!.startedAt).getTime() - new Date(shown.executions[0]!.endedAt!).getTime()).toBeGreaterThanOrEqual(900);
    // run again: a dead-lettered task can be run once more.
    expect((await invoke(runOp, t.runtime, { id: task.id })).task.status).toBe('queued');
    await until(task.id, ['dead_letter'], 60_000);
  });

  it.skipIf(!backend.available)('gates a task whose tool is destructive until approved, then runs it', async () => {
    const key = `task-${randomUUID()}`;
    const { task } = await create({ tool: 'cache_cache_set', input: { key, value: 'from a task' }, now: true });
    expect(task).toMatchObject({ status: 'waiting_approval', needsApproval: true, approvedBy: null });
    expect(task.reason).toContain(`twl task approve ${task.id}`);
    await sleep(1500);
    expect((await show(task.id)).executions).toEqual([]);
    expect(await (await t.runtime.cache()).get(key)).toBeUndefined();
    // run now is refused before the approval.
    expect((await errorOf(invoke(runOp, t.runtime, { id: task.id }))).message).toContain('needs approval');
    const approved = await invoke(approveOp, t.runtime, { id: task.id });
    expect(approved.task).toMatchObject({ status: 'queued', approvedBy: 'test' });
    await until(task.id, ['completed']);
    expect((await (await t.runtime.cache()).get(key))?.value).toBe('from a task');
    // Approving twice says there is nothing to approve.
    const again = await errorOf(invoke(approveOp, t.runtime, { id: task.id }));
    expect(again).toMatchObject({ code: 'TWL_TASK_STATE' });
  });

  it.skipIf(!backend.available)('pauses, resumes and cancels a scheduled task; a cancelled task never runs', async () => {
    // Due in an hour, so pause and cancel act on a run still waiting however slow the machine.
    const inAnHour = () => new Date(Date.now() + 3_600_000).toISOString();
    /** The state of a run in the job queue: a withdrawn one is cancelled, so nothing will ever run it. */
    const jobState = (jobId: string) => withQueue(t.runtime, async (boss) => (await boss.findJobs(jobQueue('default'), { id: jobId }))[0]?.state);
    const { task } = await create({ tool: SENTIMENT, input: { text: 'ok' }, at: inAnHour() });
    expect(await jobState(task.jobId!)).toBe('created');
    expect((await invoke(pauseOp, t.runtime, { id: task.id })).task.status).toBe('paused');
    expect(await jobState(task.jobId!)).toBe('cancelled');
    expect((await show(task.id)).executions).toEqual([]);
    // Its time has passed (backdated here): resuming runs it now.
    await t.store.query("UPDATE twl_tasks SET run_at = now() - interval '1 minute' WHERE id = $1", [task.id]);
    expect((await invoke(resumeOp, t.runtime, { id: task.id })).task.status).toBe('queued');
    await until(task.id, ['completed']);

    const later = await create({ tool: SENTIMENT, input: { text: 'ok' }, at: inAnHour() });
    const cancelled = await invoke(cancelOp, t.runtime, { id: later.task.id });
    expect(cancelled.task).toMatchObject({ status: 'cancelled', reason: 'cancelled by test' });
    expect(await jobState(later.task.jobId!)).toBe('cancelled');
    expect((await show(later.task.id)).executions).toEqual([]);
    const refused = await errorOf(invoke(resumeOp, t.runtime, { id: later.task.id }));
    expect(refused.message).toContain('only a paused task');
    const rerun = await errorOf(invoke(runOp, t.runtime, { id: later.task.id }));
    expect(rerun).toMatchObject({ code: 'TWL_TASK_STATE' });
    expect(rerun.message).toContain('is cancelled: it cannot become queued');
  });

  it.skipIf(!backend.available)('keeps a draft out of the queue until resumed', async () => {
    const { task } = await create({ tool: SENTIMENT, input: { text: 'ok' }, now: true, draft: true });
    expect(task.status).toBe('draft');
    await sleep(1200);
    expect((await show(task.id)).task.status).toBe('draft');
    expect((await invoke(resumeOp, t.runtime, { id: task.id })).task.status).toBe('queued');
    await until(task.id, ['completed']);
  });

  it.skipIf(!backend.available)('enforces the one transition table in the t.store, whoever writes', async () => {
    const { task } = await create({ tool: SENTIMENT, input: { text: 'ok' }, now: true, draft: true });
    // Through twl: refused with where it could go.
    const err = await errorOf(transition(t.store, task.id, 'completed'));
    expect(err).toMatchObject({ code: 'TWL_TASK_STATE', details: { status: 'draft', to: 'completed', allowed: ['cancelled', 'pending'] } });
    expect(err.message).toBe(`Task #${task.id} is draft: it cannot become completed. From draft it may become: cancelled, pending.`);
    // Behind twl's back: the trigger refuses it too.
    await expect(t.store.query("UPDATE twl_tasks SET status = 'running' WHERE id = $1", [task.id])).rejects.toThrow(/cannot go from draft to running/);
    // Final statuses have no way out but the ones the table lists.
    const { rows } = await t.store.query<{ from_status: string; to_status: string }>('SELECT from_status, to_status FROM twl_task_transitions');
    const from = new Set(rows.map((r) => r.from_status));
    expect(from.has('cancelled')).toBe(false);
    for (const r of rows) {
      expect(taskStatuses).toContain(r.from_status);
      expect(taskStatuses).toContain(r.to_status);
    }
    expect((await show(task.id)).task.status).toBe('draft');
  });

  it.skipIf(!backend.available)('refuses bad input with the problem and the fix, writing nothing', async () => {
    // Each refused task is named: any row it wrote would carry that name (other test files write tasks to the shared database meanwhile).
    const marker = `refused-${randomUUID().slice(0, 8)}`;
    const written = async () => (await t.store.query<{ n: string }>('SELECT count(*) AS n FROM twl_tasks WHERE name = $1', [marker])).rows[0]!.n;
    const corpus: Array<[Record<string, unknown>, RegExp]> = [
      [{ tool: SENTIMENT, input: { text: 'x' }, cron: '61 * * * *' }, /--cron "61 \* \* \* \*" is not a valid cron expression/],
      [{ tool: SENTIMENT, input: { text: 'x' }, cron: '* * * *' }, /has 4 fields: twl schedules to the minute, with five fields/],
      [{ tool: SENTIMENT, input: { text: 'x' }, cron: '*/5 * * * * *' }, /has 6 fields/],
      [{ tool: SENTIMENT, input: { text: 'x' }, cron: '' }, /has 0 fields/],
      [{ tool: SENTIMENT, input: { text: 'x' }, cron: 'every minute please' }, /has 3 fields/],
      [{ tool: SENTIMENT, input: { text: 'x' }, cron: '* * * * *', tz: 'Mars/Olympus' }, /--tz "Mars\/Olympus" is not a time zone/],
      [{ tool: SENTIMENT, input: { text: 'x' }, at: 'tomorrow' }, /--at "tomorrow" is not an ISO 8601 time with a time zone/],
      [{ tool: SENTIMENT, input: { text: 'x' }, at: '2026-12-24T18:00:00' }, /not an ISO 8601 time with a time zone/],
      [{ tool: SENTIMENT, input: { text: 'x' }, at: '2026-02-30T18:00:00Z' }, /not an ISO 8601 time|in the past/],
      [{ tool: SENTIMENT, input: { text: 'x' }, at: '2001-01-01T00:00:00Z' }, /is in the past/],
      [{ tool: SENTIMENT, input: { text: 'x' }, now: true, at: '2030-01-01T00:00:00Z' }, /exactly one kind of time: got --now and --at/],
      [{ tool: SENTIMENT, input: { text: 'x' } }, /none of --now, --at, --cron was given/],
      [{ tool: SENTIMENT, input: { text: 'x' }, now: true, tz: 'UTC' }, /--tz goes with --cron/],
      [{ tool: 'sentiment-analyzer_analyze_sentimnt', input: { text: 'x' }, now: true }, /There is no tool "sentiment-analyzer_analyze_sentimnt"\. Did you mean sentiment-analyzer_analyze_sentiment\?/],
      [{ tool: "x'; DROP TABLE twl_tasks; --", now: true }, /There is no tool/],
      [{ tool: SENTIMENT, input: { txt: 'x' }, now: true }, /Invalid input for sentiment-analyzer_analyze_sentiment: .*unknown key "txt"/],
      [{ tool: 'task_create', input: {}, now: true }, /tasks do not create or change tasks|Invalid input/],
      [{ agent: 'triage', prompt: 'hello', now: true }, /There is no agent "triage"/],
      [{ workflow: 'nightly', now: true }, /No workflow named "nightly"/],
      [{ now: true }, /none of --tool, --agent, --workflow was given/],
      [{ tool: SENTIMENT, agent: 'a', now: true }, /got --tool and --agent/],
      [{ tool: SENTIMENT, input: { text: 'x' }, now: true, timeout: 'forever' }, /--timeout "forever" is not a duration/],
      [{ tool: SENTIMENT, input: { text: 'x' }, now: true, queue: '../etc' }, /expected a queue name/],
      [{ tool: SENTIMENT, input: { text: 'x' }, now: true, prompt: 'p' }, /--prompt goes with --agent/],
    ];
    for (const [input, message] of corpus) {
      const err = await errorOf(create({ ...input, name: marker }));
      expect(err.message, JSON.stringify(input)).toMatch(message);
      expect(['TWL_INPUT_INVALID', 'TWL_TOOL_UNKNOWN', 'TWL_NOT_AVAILABLE', 'TWL_AGENT_NOT_FOUND', 'TWL_WORKFLOW_UNKNOWN'], JSON.stringify(input)).toContain(err.code);
      expect(err.actions.length, JSON.stringify(input)).toBeGreaterThan(0);
    }
    expect(await written()).toBe('0');
  });

  it.skipIf(!backend.available)('refuses a task over a tool beyond the manager role, and an unknown task id', async () => {
    const ops = await t.runtime.ops();
    const admin = [...ops.values()].find((o) => o.policy.minRole === 'admin');
    if (admin) expect((await errorOf(create({ tool: admin.mcpName, input: {}, now: true }))).code).toMatch(/TWL_ROLE_DENIED|TWL_INPUT_INVALID/);
    expect(await errorOf(show(987_654_321))).toMatchObject({ code: 'TWL_TASK_NOT_FOUND' });
    expect(await errorOf(invoke(cancelOp, t.runtime, { id: 987_654_321 }))).toMatchObject({ code: 'TWL_TASK_NOT_FOUND' });
  });
  it.skipIf(!backend.available)('claims and ends a run in statements that are safe to ask twice (a store outage loses the answer, not the work)', async () => {
    // A task as the queue leaves it (queued), without a job: these statements are the worker's.
    const task = await insertTask(t.store, { kind: 'tool', tool: SENTIMENT, input: { text: 'x' }, queue: 'default', trigger: 'now', retries: 1, timeoutMs: 60_000, needsApproval: false, createdBy: 'test', status: 'pending' });
    await transition(t.store, task.id, 'queued');
    const jobId = randomUUID();
    const claim = { taskId: task.id, jobId, attempt: 1, worker: 'w1' };
    const first = await claimRun(t.store, claim);
    if ('skipped' in first) throw new Error(first.skipped);
    expect(first.task.status).toBe('running');
    expect(first.execution).toMatchObject({ taskId: task.id, jobId, attempt: 1, worker: 'w1', status: 'running' });
    // Asked again (its answer was lost): the same execution, not a second one.
    const again = await claimRun(t.store, claim);
    if ('skipped' in again) throw new Error(again.skipped);
    expect(again.execution.id).toBe(first.execution.id);
    // Another job of the task meanwhile (a cron tick): skipped, never two runs at once.
    expect(await claimRun(t.store, { ...claim, jobId: randomUUID() })).toMatchObject({ skipped: 'the task was running' });
    // Ended twice: the lines once, the task moved once.
    const end = { taskId: task.id, executionId: first.execution.id, lines: ['one', 'two'], status: 'completed' as const, output: { ok: true }, toolCalls: [{ tool: SENTIMENT, ok: true, ms: 1 }], next: 'completed' as const, reason: null };
    expect(await finishRun(t.store, end)).toEqual({ moved: true });
    expect(await finishRun(t.store, end)).toEqual({ moved: false });
    expect((await outputOf(t.store, task.id)).map((l) => l.line)).toEqual(['one', 'two']);
    const shown = await show(task.id);
    expect(shown.task.status).toBe('completed');
    expect(shown.executions.map((e) => [e.attempt, e.status])).toEqual([[1, 'completed']]);
    // The job comes back (its completion was lost with the connection) after a rerun put the task in the queue again: skipped.
    await transition(t.store, task.id, 'queued');
    expect(await claimRun(t.store, { ...claim, attempt: 2 })).toMatchObject({ skipped: expect.stringContaining('completed already') });
    expect((await show(task.id)).executions).toHaveLength(1);
    // The feed tells it in order: the last lines before the execution ends, the execution before the task.
    const { rows } = await t.store.query<{ topic: string; kind: string; subject: string; payload: Record<string, unknown> }>(
      "SELECT topic, kind, subject, payload FROM twl_events WHERE (topic = 'task' AND subject = $1) OR (topic = 'execution' AND subject = $2) ORDER BY id",
      [String(task.id), String(first.execution.id)],
    );
    expect(rows.map((r) => `${r.topic}:${r.kind}:${(r.payload.status ?? r.payload.text) as string}`)).toEqual([
      'task:status:pending',
      'task:status:queued',
      'task:status:running',
      'execution:status:running',
      'execution:output:one',
      'execution:output:two',
      'execution:status:completed',
      'task:status:completed',
      'task:status:queued',
    ]);
  });
});
