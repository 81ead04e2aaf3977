import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { invoke } from '../../src/ops/invoke.js';
import logsOp from '../../src/ops/task/logs.js';
import showOp from '../../src/ops/task/show.js';
import type { Runtime } from '../../src/runtime/context.js';
import { EventFollower, eventRoles, readEvents, type TwlEvent } from '../../src/studio/events.js';
import { appendOutput, finishRun, insertTask, startExecution, transition } from '../../src/studio/tasks.js';
import type { Store } from '../../src/store/types.js';
import { POSTGRES_URL, hasPostgres, tempHome, testRuntime } from '../helpers.js';

/*
 * The studio's change feed on both stores: readEvents' filters, and the follower (LISTEN on
 * PostgreSQL, a poll on the embedded store) delivering a backlog then live events, each once, in
 * order; on PostgreSQL an event whose transaction commits after a later one's is still delivered.
 */

const backends = [
  { name: 'embedded', available: true, config: {} },
  { name: 'postgres', available: hasPostgres, config: { database: { url: POSTGRES_URL } } },
];

const newTask = (store: Store) =>
  insertTask(store, { kind: 'tool', tool: 'cache_cache_get', input: { key: randomUUID() }, queue: 'default', trigger: 'now', retries: 0, timeoutMs: 1000, needsApproval: false, createdBy: 'test', status: 'pending' });

/** Collects what a listener gets, and waits for a condition on it. */
function collector() {
  const got: TwlEvent[] = [];
  return {
    got,
    listener: (events: TwlEvent[]) => void got.push(...events),
    async until(done: (events: TwlEvent[]) => boolean, ms = 10_000) {
      const deadline = Date.now() + ms;
      while (!done(got)) {
        if (Date.now() > deadline) throw new Error(`not there in ${ms} ms: ${JSON.stringify(got.map((e) => [e.id, e.topic, e.kind, e.payload]))}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
  };
}

describe.each(backends)('the change feed on $name', ({ name, available, config }) => {
  let runtime: Runtime;
  let cleanup: () => void;
  let store: Store;

  beforeAll(async () => {
    if (!available) return;
    const t = tempHome('twl-events-int-');
    cleanup = t.cleanup;
    runtime = testRuntime(t.home, config);
    store = await runtime.store();
  });
  afterAll(async () => {
    if (!available) return;
    await runtime.close();
    cleanup();
  });

  it.skipIf(!available)('reads a task\'s events with each filter: topics, kinds, subject, task, after', async () => {
    const task = await newTask(store);
    const other = await newTask(store);
    const exec = await startExecution(store, { taskId: task.id, jobId: randomUUID(), attempt: 1, worker: 'w' });
    await appendOutput(store, exec.id, ['one', 'two']);
    await finishRun(store, { taskId: task.id, executionId: exec.id, lines: [], status: 'completed', toolCalls: [] });
    const all = await readEvents(store, { after: 0, task: task.id, limit: 100 });
    expect(all.map((e) => [e.topic, e.kind, e.kind === 'output' ? e.payload.text : e.payload.status])).toEqual([
      ['task', 'status', 'pending'],
      ['execution', 'status', 'running'],
      ['execution', 'output', 'one'],
      ['execution', 'output', 'two'],
      ['execution', 'status', 'completed'],
    ]);
    expect(all.every((e) => e.subject !== String(other.id) || e.topic !== 'task')).toBe(true);
    const lines = await readEvents(store, { after: 0, task: task.id, kinds: ['output'], limit: 100 });
    expect(lines.map((e) => e.payload.text)).toEqual(['one', 'two']);
    expect(lines.map((e) => e.payload.line)).toEqual((await invoke(logsOp, runtime, { id: task.id })).lines.map((l) => l.id));
    const statuses = await readEvents(store, { after: 0, topics: ['task'], subject: String(task.id), limit: 100 });
    expect(statuses.map((e) => e.payload.status)).toEqual(['pending']);
    expect(await readEvents(store, { after: all[2]!.id, task: task.id, limit: 2 })).toEqual(all.slice(3, 5));
    // A role that may read nothing of it (none below viewer exists: an unknown one) gets nothing.
    expect(await readEvents(store, { after: 0, task: task.id, role: 'nobody' as never, limit: 100 })).toEqual([]);
    expect(await readEvents(store, { after: 0, task: task.id, role: 'viewer', limit: 100 })).toEqual(all);
  });

  it.skipIf(!available)('follows: the backlog after a resume point, then live events, each once and in order', async () => {
    const follower = new EventFollower(runtime, { pollMs: 50, safetyPollMs: 1000 });
    const task = await newTask(store);
    const exec = await startExecution(store, { taskId: task.id, jobId: randomUUID(), attempt: 1, worker: 'w' });
    await appendOutput(store, exec.id, ['before 1', 'before 2']);
    const first = (await readEvents(store, { after: 0, task: task.id, limit: 1 }))[0]!;
    const c = collector();
    const stop = await follower.follow({ task: task.id }, c.listener, { after: first.id });
    // A new execution of the same task is noticed live (its status says which task it belongs to).
    await finishRun(store, { taskId: task.id, executionId: exec.id, lines: [], status: 'failed', error: 'x', toolCalls: [] });
    const retry = await startExecution(store, { taskId: task.id, jobId: randomUUID(), attempt: 2, worker: 'w2' });
    for (let i = 1; i <= 20; i++) await appendOutput(store, retry.id, [`live ${i}`]);
    // Another task's lines are not this follower's.
    const other = await newTask(store);
    const otherExec = await startExecution(store, { taskId: other.id, jobId: randomUUID(), attempt: 1, worker: 'w' });
    await appendOutput(store, otherExec.id, ['not mine']);
    await transition(store, task.id, 'cancelled');
    await c.until((got) => got.some((e) => e.topic === 'task' && e.payload.status === 'cancelled'));
    stop();
    const ids = c.got.map((e) => e.id);
    expect(ids).toEqual([...new Set(ids)].sort((a, b) => a - b));
    expect(c.got.filter((e) => e.kind === 'output').map((e) => e.payload.text)).toEqual(['before 1', 'before 2', ...Array.from({ length: 20 }, (_, i) => `live ${i + 1}`)]);
    expect(c.got.some((e) => e.payload.text === 'not mine')).toBe(false);
    expect(c.got[0]!.id).toBeGreaterThan(first.id);
    expect(follower.active).toBe(false);
    expect(follower.listening).toBe(false);
  });

  it.skipIf(!available)('shares one reader between listeners, and stops reading with the last', async () => {
    const follower = new EventFollower(runtime, { pollMs: 50 });
    const a = collector();
    const b = collector();
    const stopA = await follower.add(a.listener);
    const stopB = await follower.add(b.listener);
    if (name === 'postgres') expect(follower.listening).toBe(true);
    const task = await newTask(store);
    await a.until((got) => got.some((e) => e.subject === String(task.id)));
    await b.until((got) => got.some((e) => e.subject === String(task.id)));
    stopA();
    const later = await newTask(store);
    await b.until((got) => got.some((e) => e.subject === String(later.id)));
    expect(a.got.some((e) => e.subject === String(later.id))).toBe(false);
    stopB();
    expect(follower.active).toBe(false);
  });

  it.skipIf(!available || name !== 'postgres')('delivers an event whose transaction commits after a later event (its id was skipped at first)', async () => {
    // Safety poll off in effect: LISTEN must bring both.
    const follower = new EventFollower(runtime, { safetyPollMs: 60_000 });
    const c = collector();
    const stop = await follower.add(c.listener);
    const task = await newTask(store);
    const exec = await startExecution(store, { taskId: task.id, jobId: randomUUID(), attempt: 1, worker: 'w' });
    await c.until((got) => got.some((e) => e.subject === String(exec.id)));
    const slow = new pg.Client({ connectionString: POSTGRES_URL });
    await slow.connect();
    try {
      await slow.query('BEGIN');
      await slow.query('INSERT INTO twl_task_output (execution_id, line) VALUES ($1, $2)', [exec.id, 'written first, committed last']);
      await appendOutput(store, exec.id, ['written second, committed first']);
      await c.until((got) => got.some((e) => e.payload.text === 'written second, committed first'));
      await slow.query('COMMIT');
      await c.until((got) => got.some((e) => e.payload.text === 'written first, committed last'));
    } finally {
      await slow.end();
      stop();
    }
    const texts = c.got.filter((e) => e.kind === 'output').map((e) => e.payload.text);
    expect(texts).toEqual(['written second, committed first', 'written first, committed last']);
  });
});

describe('who sees which events', () => {
  it('each kind of event needs the role of the op that reads the same thing', () => {
    expect(eventRoles['task:status']).toBe(showOp.policy.minRole);
    expect(eventRoles['execution:status']).toBe(showOp.policy.minRole);
    expect(eventRoles['execution:output']).toBe(logsOp.policy.minRole);
  });
});
