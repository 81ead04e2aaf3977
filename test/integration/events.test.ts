import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type net from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventStreams } from '../../src/http/events.js';
import { invoke } from '../../src/ops/invoke.js';
import logsOp from '../../src/ops/task/logs.js';
import showOp from '../../src/ops/task/show.js';
import type { Runtime } from '../../src/runtime/context.js';
import { EventFollower, eventRoles, readEvents, type TwlEvent } from '../../src/studio/events.js';
import { appendOutput, finishRun, insertTask, startExecution, transition } from '../../src/studio/tasks.js';
import { pruneExpired } from '../../src/store/retention.js';
import type { Store } from '../../src/store/types.js';
import { TaskWorker } from '../../src/studio/worker.js';
import { POSTGRES_URL, isolatedRuntime, tempHome, testRuntime } from '../helpers.js';
import { configBackends, slowEventFollower } from './backends.js';

/*
 * The studio's change feed on both stores: readEvents' filters, and the follower (LISTEN on
 * PostgreSQL, a poll on the embedded store) delivering a backlog then live events, each once, in
 * order; on PostgreSQL an event whose transaction commits after a later one's is still delivered.
 * Its retention (store.eventRetention): old events deleted a batch at a time, by twl worker too,
 * and followers going on across a prune.
 */

const backends = configBackends();

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

  it.skipIf(!available)('GET /api/events answers its 200 once it follows: an event written as soon as the head arrives is sent', async () => {
    // A heartbeat a second: the read below looks at its deadline at least that often.
    const streams = eventStreams({ runtime, heartbeat: 1, perKey: 5, buffer: 1 << 20 });
    const server = http.createServer((req, res) => void streams.handle(req, res, new URL(req.url!, 'http://127.0.0.1'), { principal: 'test', role: 'admin' }).catch(() => res.destroy()));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    // The follower takes its time to listen, as on a loaded machine.
    const slow = slowEventFollower(500);
    const controller = new AbortController();
    try {
      const task = await newTask(store);
      const exec = await startExecution(store, { taskId: task.id, jobId: randomUUID(), attempt: 1, worker: 'w' });
      const res = await fetch(`http://127.0.0.1:${(server.address() as net.AddressInfo).port}/api/events?kinds=output`, { signal: controller.signal });
      expect(res.status).toBe(200);
      const marker = `written when the head arrived ${randomUUID()}`;
      await appendOutput(store, exec.id, [marker]);
      let body = '';
      const decoder = new TextDecoder();
      const deadline = Date.now() + 15_000;
      for await (const chunk of res.body!) {
        body += decoder.decode(chunk as Uint8Array, { stream: true });
        if (body.includes(marker) || Date.now() > deadline) break;
      }
      expect(body).toContain(marker);
    } finally {
      slow.mockRestore();
      controller.abort();
      streams.closeAll();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
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

describe.each(backends)('the change feed\'s retention on $name', ({ name, available }) => {
  let runtime: Runtime;
  let store: Store;
  // PostgreSQL: a database of its own, since this deletes rows other test files read from the shared one.
  let close: () => Promise<void>;

  beforeAll(async () => {
    if (!available) return;
    ({ runtime, close } = await isolatedRuntime(name, 'twl-events-retention', { tasks: { superviseInterval: '1s' } }, { host: name === 'embedded', role: 'retention test' }));
    store = await runtime.store();
  });
  afterAll(async () => {
    if (available) await close();
  });

  /** Makes the events up to an id `days` old. */
  const backdate = (upTo: number, days = 8) => store.query('UPDATE twl_events SET at = now() - make_interval(days => $2) WHERE id <= $1', [upTo, days]);
  const ids = async () => (await store.query<{ id: unknown }>('SELECT id FROM twl_events ORDER BY id')).rows.map((r) => Number(r.id));
  const lines = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => `line ${from + i}`);
  const outputs = (events: TwlEvent[]) => events.filter((e) => e.kind === 'output').map((e) => e.payload.text);

  it.skipIf(!available)('deletes what is older than the retention, oldest first, a batch at a time; keeps the recent events and always the newest', async () => {
    const task = await newTask(store);
    const exec = await startExecution(store, { taskId: task.id, jobId: randomUUID(), attempt: 1, worker: 'w' });
    await appendOutput(store, exec.id, lines(1, 30));
    const before = await ids();
    expect(before.length).toBeGreaterThanOrEqual(32);
    const cut = before.at(-6)!;
    await backdate(cut);
    const settings = runtime.config.store;
    expect(settings.eventRetention).toBe(7 * 86_400_000);
    // One statement deletes one batch.
    expect((await pruneExpired(store, settings, { batch: 10, maxBatches: 1 })).twl_events).toBe(10);
    expect(await ids()).toEqual(before.slice(10));
    expect((await pruneExpired(store, settings, { batch: 10 })).twl_events).toBe(before.length - 5 - 10);
    expect(await ids()).toEqual(before.slice(-5));
    // The output lines themselves stay: only the feed forgets.
    expect((await invoke(logsOp, runtime, { id: task.id })).lines.map((l) => l.line)).toEqual(lines(1, 30));
    // off keeps everything; everything old: all but the newest go.
    await backdate(Number.MAX_SAFE_INTEGER, 400);
    expect((await pruneExpired(store, { ...settings, eventRetention: 0 })).twl_events).toBe(0);
    expect((await pruneExpired(store, settings)).twl_events).toBe(4);
    expect(await ids()).toEqual([before.at(-1)]);
    // Op calls past store.activityRetention go by the same path.
    await store.query("INSERT INTO twl_op_calls (at, tool, caller, duration_ms, ok) VALUES (now() - interval '2 days', 'old_tool', 'test', 1, true), (now(), 'new_tool', 'test', 1, true)");
    expect((await pruneExpired(store, settings)).twl_op_calls).toBeGreaterThanOrEqual(1);
    const tools = (await store.query<{ tool: string }>("SELECT tool FROM twl_op_calls WHERE tool IN ('old_tool', 'new_tool')")).rows.map((r) => r.tool);
    expect(tools).toEqual(['new_tool']);
  });

  it.skipIf(!available)('a follower keeps following across a prune, nothing replayed or lost; a resume point the prune deleted resumes at what is left', async () => {
    const follower = new EventFollower(runtime, { pollMs: 50, safetyPollMs: 500 });
    const task = await newTask(store);
    const exec = await startExecution(store, { taskId: task.id, jobId: randomUUID(), attempt: 1, worker: 'w' });
    const c = collector();
    const stop = await follower.follow({ task: task.id }, c.listener);
    try {
      await appendOutput(store, exec.id, lines(1, 5));
      await c.until((got) => outputs(got).length === 5);
      // Everything old, pruned below the follower's cursor (all but the newest: line 5).
      await backdate(Number.MAX_SAFE_INTEGER);
      expect((await pruneExpired(store, runtime.config.store)).twl_events).toBeGreaterThanOrEqual(6);
      for (let i = 6; i <= 10; i++) await appendOutput(store, exec.id, [`line ${i}`]);
      await c.until((got) => outputs(got).length >= 10);
      // A few more reads: nothing comes twice.
      await new Promise((r) => setTimeout(r, 300));
      expect(outputs(c.got)).toEqual(lines(1, 10));
      const got = c.got.map((e) => e.id);
      expect(got).toEqual([...new Set(got)].sort((a, b) => a - b));

      // GET /api/events resuming after an id the prune deleted: what is left after it, then live events.
      const resumed = collector();
      const stopResumed = await new EventFollower(runtime, { pollMs: 50 }).follow({ task: task.id }, resumed.listener, { after: c.got[0]!.id });
      await appendOutput(store, exec.id, ['line 11']);
      await resumed.until((events) => outputs(events).includes('line 11'));
      await c.until((events) => outputs(events).includes('line 11'));
      stopResumed();
      expect(outputs(resumed.got)).toEqual(lines(5, 11));
      expect(outputs(c.got)).toEqual(lines(1, 11));
    } finally {
      stop();
    }
  });

  it.skipIf(!available)('twl worker deletes them in its upkeep', async () => {
    const task = await newTask(store);
    const exec = await startExecution(store, { taskId: task.id, jobId: randomUUID(), attempt: 1, worker: 'w' });
    await appendOutput(store, exec.id, lines(1, 20));
    const before = await ids();
    await backdate(before.at(-3)!);
    const worker = await TaskWorker.start(runtime, { concurrency: 1, queues: ['default'], name: 'retention-test' });
    try {
      await expect.poll(ids, { timeout: 20_000, interval: 200 }).toEqual(before.slice(-2));
    } finally {
      await worker.stop(1000);
    }
  });
});

describe('who sees which events', () => {
  it('each kind of event needs the role of the op that reads the same thing', () => {
    expect(eventRoles['task:status']).toBe(showOp.policy.minRole);
    expect(eventRoles['execution:status']).toBe(showOp.policy.minRole);
    expect(eventRoles['execution:output']).toBe(logsOp.policy.minRole);
  });
});
