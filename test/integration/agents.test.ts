import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import activateOp from '../../src/ops/agent/activate.js';
import createOp from '../../src/ops/agent/create.js';
import deactivateOp from '../../src/ops/agent/deactivate.js';
import deleteOp from '../../src/ops/agent/delete.js';
import editOp from '../../src/ops/agent/edit.js';
import listOp from '../../src/ops/agent/list.js';
import runOp from '../../src/ops/agent/run.js';
import showOp from '../../src/ops/agent/show.js';
import { invoke } from '../../src/ops/invoke.js';
import taskCreateOp from '../../src/ops/task/create.js';
import taskShowOp from '../../src/ops/task/show.js';
import logsOp from '../../src/ops/task/logs.js';
import type { Runtime } from '../../src/runtime/context.js';
import { transitionAgent } from '../../src/studio/agents.js';
import { TaskWorker } from '../../src/studio/worker.js';
import type { Store } from '../../src/store/types.js';
import { FakeOllama, type ChatAnswer, type ChatRequest } from '../fixtures/ollama-server.js';
import { tempHome, testRuntime, errorOf, waitFor } from '../helpers.js';
import { configBackends } from './backends.js';

/*
 * Agents on both store backends (the embedded store through its host socket, and PostgreSQL),
 * with the Ollama-speaking test server scripting the model: a master with a supervisor with two
 * workers handles a prompt (delegation, permitted tools only, a refused call recorded, every step
 * on the record, statuses active → busy → active), the same as a task run by a real worker, the
 * lifecycle and its transition table, per-agent serialisation, declared steps without an LLM, and
 * the invalid input (unknown agent, a cycle, an invalid transition) refused with nothing written.
 */

const SENTIMENT = 'sentiment-analyzer_analyze_sentiment';
const schema = `pgboss_a${randomUUID().slice(0, 8)}`;
const tasksConfig = { schema, retryDelay: '1s', superviseInterval: '2s' };

const backends = configBackends({ tasks: tasksConfig }, { embedded: 'embedded (hosted)' });

/** Which agent a chat request is for: its system prompt starts with "You are NAME,". */
const agentOfChat = (req: ChatRequest): string => /^You are ([a-z0-9_-]+),/.exec(req.messages[0]?.content ?? '')?.[1] ?? '?';
const toolTurns = (req: ChatRequest) => req.messages.filter((m) => m.role === 'tool').length;
const call = (name: string, args: Record<string, unknown>) => ({ function: { name, arguments: args } });
const delegate = (agent: string) => `delegate_${agent.replaceAll('-', '_')}`;

describe.each(backends)('agents on the $name store', (backend) => {
  let runtime: Runtime;
  let store: Store;
  let ollama: FakeOllama;
  let cleanup: () => void;
  const id = randomUUID().slice(0, 6);
  const names = { master: `lead-${id}`, supervisor: `infra-${id}`, w1: `mood-${id}`, w2: `cache-${id}` };

  beforeAll(async () => {
    if (!backend.available) return;
    ollama = await new FakeOllama().start();
    const t = tempHome('twl-agents-');
    cleanup = t.cleanup;
    runtime = testRuntime(t.home, { ...backend.config, llm: { host: ollama.url, model: 'llama3.1:8b' } }, { host: true, role: 'agents test' });
    store = await runtime.store();
  });
  afterAll(async () => {
    if (backend.name === 'postgres' && store) await store.exec(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await runtime?.close();
    await ollama?.stop();
    cleanup?.();
  });

  const create = (input: Record<string, unknown>) => invoke(createOp, runtime, input);
  const events = async (name: string) =>
    (await store.query<{ payload: { status: string; from: string | null } }>("SELECT payload FROM twl_events WHERE topic = 'agent' AND subject = $1 ORDER BY id", [name])).rows.map((r) => r.payload.status);

  /** The model's script: the master delegates to the supervisor, which delegates to both workers; the workers call tools. */
  const script = (req: ChatRequest): ChatAnswer => {
    const agent = agentOfChat(req);
    const turns = toolTurns(req);
    if (agent === names.master) return turns === 0 ? { tool_calls: [call(delegate(names.supervisor), { prompt: 'check the mood of the ticket and the cache' })] } : { content: 'master: all checked' };
    if (agent === names.supervisor) return turns === 0 ? { tool_calls: [call(delegate(names.w1), { prompt: 'how does the user feel?' }), call(delegate(names.w2), { prompt: 'note it in the cache' })] } : { content: 'supervisor: both done' };
    if (agent === names.w1) return turns === 0 ? { tool_calls: [call(SENTIMENT, { text: 'the server is down again, this is terrible' }), call('cache_cache_keys', { pattern: '*' })] } : { content: 'w1: the user is unhappy' };
    if (agent === names.w2) return turns === 0 ? { tool_calls: [call('cache_cache_set', { key: `agents-${id}`, value: 'unhappy' })] } : { content: 'w2: noted' };
    return { content: `unknown agent ${agent}` };
  };

  it.skipIf(!backend.available)('builds the hierarchy: pending_validation, then active once activation checks its tools and model', async () => {
    const { agent: master } = await create({ name: names.master, kind: 'master', instructions: 'Lead the incident work.' });
    expect(master).toMatchObject({ name: names.master, kind: 'master', parent: null, status: 'pending_validation', createdBy: 'test' });
    await create({ name: names.supervisor, kind: 'supervisor', parent: names.master });
    await create({ name: names.w1, kind: 'worker', parent: names.supervisor, tools: ['sentiment-analyzer_*'], model: 'llama3.1:8b' });
    await create({ name: names.w2, kind: 'worker', parent: names.supervisor, tools: ['cache_cache_set', 'cache_cache_get'], preapprove: ['cache_cache_set'] });
    for (const n of Object.values(names)) expect((await invoke(activateOp, runtime, { name: n })).agent.status).toBe('active');
    const { agents } = await invoke(listOp, runtime, {});
    expect(agents.filter((a) => Object.values(names).includes(a.name)).map((a) => [a.name, a.kind, a.parent, a.status])).toEqual(
      [
        [names.w2, 'worker', names.supervisor, 'active'],
        [names.supervisor, 'supervisor', names.master, 'active'],
        [names.master, 'master', null, 'active'],
        [names.w1, 'worker', names.supervisor, 'active'],
      ].sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
    );
    const shown = await invoke(showOp, runtime, { name: names.supervisor });
    expect(shown.children).toEqual([names.w2, names.w1].sort());
    expect(shown.next).toEqual(['busy', 'error', 'inactive', 'pending_validation']);
  });

  it.skipIf(!backend.available)('a master with a supervisor with two workers handles a prompt: delegation, permitted tools only, every step recorded, active → busy → active', async () => {
    ollama.onChat(script);
    const before = (await store.query<{ n: string }>("SELECT count(*) AS n FROM twl_tool_calls WHERE decision = 'refused' AND actor = $1", [`agent:${names.w1}`])).rows[0]!.n;
    const { run, steps } = await invoke(runOp, runtime, { name: names.master, prompt: 'A user wrote: the server is down again. Handle it.' });
    expect(run).toMatchObject({ agent: names.master, status: 'completed', mode: 'llm', output: 'master: all checked', parentRun: null });

    const seen = steps.map((s) => [s.agent, s.kind, s.name, s.ok]);
    // The master delegated to the supervisor, which delegated to both workers; each model turn is there too.
    expect(seen).toContainEqual([names.master, 'delegate', names.supervisor, true]);
    expect(seen).toContainEqual([names.supervisor, 'delegate', names.w1, true]);
    expect(seen).toContainEqual([names.supervisor, 'delegate', names.w2, true]);
    expect(seen).toContainEqual([names.w1, 'tool', SENTIMENT, true]);
    expect(seen).toContainEqual([names.w2, 'tool', 'cache_cache_set', true]);
    expect(steps.filter((s) => s.kind === 'model').map((s) => s.agent).sort()).toEqual([names.master, names.master, names.supervisor, names.supervisor, names.w1, names.w1, names.w2, names.w2].sort());
    // w1 asked for a tool outside its allow-list: refused, on the record, and never called.
    const refused = steps.filter((s) => s.kind === 'refused');
    expect(refused).toEqual([expect.objectContaining({ agent: names.w1, name: 'cache_cache_keys', ok: false, error: expect.stringContaining(`not among the tools of agent ${names.w1}`) })]);
    // The model saw the refusal as the tool's answer.
    const w1Second = ollama.chats().filter((c) => agentOfChat(c) === names.w1 && toolTurns(c) > 0)[0]!;
    expect(w1Second.messages.at(-1)!.content).toContain('refused');
    // Each worker was offered only its tools; the supervisor only its delegates.
    const offered = (agent: string) => (ollama.chats().find((c) => agentOfChat(c) === agent)!.tools ?? []).map((t) => t.function.name).sort();
    expect(offered(names.w1)).toEqual([SENTIMENT]);
    expect(offered(names.w2)).toEqual(['cache_cache_get', 'cache_cache_set']);
    expect(offered(names.supervisor)).toEqual([delegate(names.w2), delegate(names.w1)].sort());
    expect(offered(names.master)).toEqual([delegate(names.supervisor)]);
    // The worker's write happened (pre-approved), and the refusal is in the catalog's audit.
    const cache = await runtime.cache();
    expect((await cache.get(`agents-${id}`))?.value).toBe('unhappy');
    await expect
      .poll(async () => (await store.query<{ n: string }>("SELECT count(*) AS n FROM twl_tool_calls WHERE decision = 'refused' AND actor = $1 AND tool = 'cache_cache_keys' AND via = 'agent'", [`agent:${names.w1}`])).rows[0]!.n, { timeout: 10_000 })
      .toBe(String(Number(before) + 1));
    // The runs form a tree on the record.
    const runs = (await store.query<{ agent: string; parent_agent: string | null; status: string }>(
      'SELECT r.agent, p.agent AS parent_agent, r.status FROM twl_agent_runs r LEFT JOIN twl_agent_runs p ON p.id = r.parent_run WHERE r.id >= $1 ORDER BY r.id',
      [run.id],
    )).rows.filter((r) => Object.values(names).includes(r.agent));
    expect(runs).toEqual([
      { agent: names.master, parent_agent: null, status: 'completed' },
      { agent: names.supervisor, parent_agent: names.master, status: 'completed' },
      { agent: names.w1, parent_agent: names.supervisor, status: 'completed' },
      { agent: names.w2, parent_agent: names.supervisor, status: 'completed' },
    ]);
    // Statuses, from the change feed: active → busy → active for each of them.
    for (const n of Object.values(names)) expect(await events(n)).toEqual(['pending_validation', 'active', 'busy', 'active']);
  });

  it.skipIf(!backend.available)('a task runs the agent on a real worker: its steps are on the execution record and its output lines', async () => {
    ollama.onChat(script);
    const worker = await TaskWorker.start(runtime, { concurrency: 1, queues: ['default'], name: 'agents-worker' });
    try {
      const { task } = await invoke(taskCreateOp, runtime, { agent: names.master, prompt: 'Handle the ticket.', now: true });
      expect(task).toMatchObject({ kind: 'agent', tool: null, input: { agent: names.master, prompt: 'Handle the ticket.' }, status: 'queued' });
      let shown = await invoke(taskShowOp, runtime, { id: task.id });
      for (let i = 0; i < 300 && shown.task.status !== 'completed' && shown.task.status !== 'failed'; i++) {
        await sleep(100);
        shown = await invoke(taskShowOp, runtime, { id: task.id });
      }
      expect(shown.task.status).toBe('completed');
      const [execution] = shown.executions;
      expect(execution).toMatchObject({ status: 'completed', worker: 'agents-worker' });
      // Recorded as they end: a delegation after the calls of the run it delegated to.
      expect(execution!.toolCalls.map((c) => [c.tool, c.ok])).toEqual([
        [SENTIMENT, true],
        ['cache_cache_keys', false],
        [`delegate:${names.w1}`, true],
        ['cache_cache_set', true],
        [`delegate:${names.w2}`, true],
        [`delegate:${names.supervisor}`, true],
      ]);
      expect((execution!.output as { output: string }).output).toBe('master: all checked');
      const { rows } = await store.query<{ n: string }>('SELECT count(*) AS n FROM twl_agent_runs WHERE execution_id = $1', [execution!.id]);
      expect(Number(rows[0]!.n)).toBe(4);
      const lines = (await invoke(logsOp, runtime, { id: task.id })).lines.map((l) => l.line);
      expect(lines[0]).toContain(`running agent ${names.master}`);
      expect(lines).toContainEqual(expect.stringContaining(`[${names.master}] delegates to ${names.supervisor}`));
      expect(lines).toContainEqual(expect.stringContaining(`[${names.w1}] cache_cache_keys: cache_cache_keys is not among the tools`));
      expect(lines.at(-1)).toMatch(/^completed in \d+ ms/);
    } finally {
      await worker.stop(2000);
    }
  });

  it.skipIf(!backend.available)('one run at a time per agent: concurrent runs wait, in the order they came', async () => {
    ollama.onChat((req) => (toolTurns(req) === 0 && agentOfChat(req) === names.w1 ? { tool_calls: [call(SENTIMENT, { text: req.messages[1]!.content })] } : { content: `done: ${req.messages[1]!.content}` }));
    ollama.chatDelay = (req) => (agentOfChat(req) === names.w1 ? 150 : 0);
    try {
      // Run i+1 comes once run i is on the record (its row, running or waiting for the agent).
      const started: Array<ReturnType<typeof invoke<typeof runOp>>> = [];
      for (const i of [0, 1, 2]) {
        started.push(invoke(runOp, runtime, { name: names.w1, prompt: `prompt ${i}` }));
        await waitFor(`run ${i} recorded`, async () => (await store.query('SELECT 1 FROM twl_agent_runs WHERE agent = $1 AND prompt = $2', [names.w1, `prompt ${i}`])).rows[0], 60_000);
      }
      const runs = await Promise.all(started);
      expect(runs.map((r) => r.run.output)).toEqual(['done: prompt 0', 'done: prompt 1', 'done: prompt 2']);
      // Never two at once: each run's steps all come before the next run's first.
      const spans = runs.map((r) => ({ first: r.steps[0]!.at, last: r.steps.at(-1)!.at, id: r.run.id }));
      expect(spans.map((s) => s.id)).toEqual([...spans.map((s) => s.id)].sort((a, b) => a - b));
      for (let i = 1; i < spans.length; i++) expect(spans[i]!.first > spans[i - 1]!.last).toBe(true);
      expect((await invoke(showOp, runtime, { name: names.w1 })).agent.status).toBe('active');
    } finally {
      ollama.chatDelay = undefined;
    }
  });

  it.skipIf(!backend.available)('a run whose process died stops holding its agent: the next run takes it over, and the dead run is lost', async () => {
    ollama.onChat({ content: 'took over' });
    // A run that claimed the agent, then went silent (its process was killed): no heartbeat for a minute.
    const { rows } = await store.query<{ id: string }>(
      "INSERT INTO twl_agent_runs (agent, prompt, mode, actor, status, heartbeat_at) VALUES ($1, 'x', 'llm', 'test', 'running', clock_timestamp() - interval '1 minute') RETURNING id::text AS id",
      [names.w1],
    );
    const dead = Number(rows[0]!.id);
    await transitionAgent(store, names.w1, 'busy', { runId: dead });
    const { run } = await invoke(runOp, runtime, { name: names.w1, prompt: 'after the crash' });
    expect(run).toMatchObject({ status: 'completed', output: 'took over' });
    const { rows: lost } = await store.query<{ status: string; error: string }>('SELECT status, error FROM twl_agent_runs WHERE id = $1', [dead]);
    expect(lost[0]).toEqual({ status: 'lost', error: 'its process stopped answering while it held the agent' });
    expect((await invoke(showOp, runtime, { name: names.w1 })).agent.status).toBe('active');
  });

  it.skipIf(!backend.available)('twl worker frees an agent held by a run whose process died, and no other: active again, the run lost, the reason on record', async () => {
    const stuck = `stuck-${id}`;
    const held = `held-${id}`;
    const holder = async (agent: string, silentFor: string) => {
      const { rows } = await store.query<{ id: string }>(
        `INSERT INTO twl_agent_runs (agent, prompt, mode, actor, status, heartbeat_at) VALUES ($1, 'x', 'llm', 'test', 'running', clock_timestamp() - interval '${silentFor}') RETURNING id::text AS id`,
        [agent],
      );
      const run = Number(rows[0]!.id);
      await transitionAgent(store, agent, 'busy', { runId: run });
      return run;
    };
    for (const name of [stuck, held]) {
      await create({ name, kind: 'worker', parent: names.supervisor, tools: [SENTIMENT] });
      await invoke(activateOp, runtime, { name });
    }
    // Its process was killed a minute ago; the other one's run is alive (a heartbeat just now).
    const dead = await holder(stuck, '1 minute');
    const alive = await holder(held, '0 seconds');
    // Nothing comes to take it over: without the worker it would stay busy, and could not be edited or deleted.
    expect((await errorOf(invoke(deleteOp, runtime, { name: stuck }))).code).toBe('TWL_AGENT_STATE');
    const worker = await TaskWorker.start(runtime, { concurrency: 1, queues: ['default'], name: 'agents-upkeep' });
    try {
      await expect.poll(async () => (await invoke(showOp, runtime, { name: stuck })).agent.status, { timeout: 20_000, interval: 200 }).toBe('active');
    } finally {
      await worker.stop(1000);
    }
    const shown = await invoke(showOp, runtime, { name: stuck });
    expect(shown.agent.reason).toBe(`freed: run #${dead} stopped answering (no heartbeat for 30 s) while it held the agent`);
    expect(shown.runs[0]).toMatchObject({ id: dead, status: 'lost', error: 'its process stopped answering while it held the agent' });
    expect(await events(stuck)).toEqual(['pending_validation', 'active', 'busy', 'active']);
    // The live holder keeps its agent.
    expect((await invoke(showOp, runtime, { name: held })).agent.status).toBe('busy');
    expect((await store.query<{ status: string }>('SELECT status FROM twl_agent_runs WHERE id = $1', [alive])).rows[0]!.status).toBe('running');
    await transitionAgent(store, held, 'active', { holder: alive });
    for (const name of [stuck, held]) await invoke(deleteOp, runtime, { name });
  });

  it.skipIf(!backend.available)('an agent task\'s retry is not blocked by its own failed run: the agent, in error since, is checked again and runs', async () => {
    const name = `retry-${id}`;
    await create({ name, kind: 'worker', parent: names.supervisor, tools: [SENTIMENT] });
    await invoke(activateOp, runtime, { name });
    ollama.onChat({ content: 'done on the retry' });
    // Its first chat fails (the server answers 500): the run fails, the agent goes to error.
    let chats = 0;
    ollama.chatFails = (req) => (agentOfChat(req) === name && chats++ === 0 ? 500 : undefined);
    const worker = await TaskWorker.start(runtime, { concurrency: 1, queues: ['default'], name: 'agents-retry' });
    try {
      const { task } = await invoke(taskCreateOp, runtime, { agent: name, prompt: 'try twice', now: true, retries: 1 });
      await expect.poll(async () => (await invoke(taskShowOp, runtime, { id: task.id })).task.status, { timeout: 30_000, interval: 200 }).toMatch(/^(completed|failed|dead_letter)$/);
      const shown = await invoke(taskShowOp, runtime, { id: task.id });
      expect(shown.task.status).toBe('completed');
      expect(shown.executions.map((e) => [e.attempt, e.status])).toEqual([
        [1, 'failed'],
        [2, 'completed'],
      ]);
      const { lines } = await invoke(logsOp, runtime, { id: task.id });
      expect(lines.map((l) => l.line)).toEqual(expect.arrayContaining([expect.stringMatching(new RegExp(`^agent ${name} was in error since run #\\d+ of this task failed; its checks pass: active again$`))]));
      expect(await events(name)).toEqual(['pending_validation', 'active', 'busy', 'error', 'active', 'busy', 'active']);
      // An agent in error for another reason (a run outside this task) is not revived by the task.
      const outside = await store.query<{ id: string }>("INSERT INTO twl_agent_runs (agent, prompt, mode, actor, status) VALUES ($1, 'x', 'llm', 'test', 'failed') RETURNING id::text AS id", [name]);
      await transitionAgent(store, name, 'error', { reason: `run #${outside.rows[0]!.id} failed: LLM unavailable` });
      const again = await invoke(taskCreateOp, runtime, { agent: name, prompt: 'not mine', now: true, retries: 1 });
      await expect.poll(async () => (await invoke(taskShowOp, runtime, { id: again.task.id })).task.status, { timeout: 30_000, interval: 200 }).toBe('failed');
      expect((await invoke(taskShowOp, runtime, { id: again.task.id })).task.reason).toMatch(new RegExp(`^Agent ${name} is error \\(run #\\d+ failed: LLM unavailable\\): only an active agent runs`));
    } finally {
      ollama.chatFails = undefined;
      await worker.stop(1000);
      await invoke(deleteOp, runtime, { name });
    }
  });

  it.skipIf(!backend.available)('a failed run puts the agent in error with the reason; activation brings it back', async () => {
    ollama.models.push({ ...ollama.models[0]!, name: 'gone:1b', model: 'gone:1b' });
    const name = `fragile-${id}`;
    await create({ name, kind: 'worker', parent: names.supervisor, tools: [SENTIMENT], model: 'gone:1b' });
    await invoke(activateOp, runtime, { name });
    ollama.models.pop();
    const err = await errorOf(invoke(runOp, runtime, { name, prompt: 'hello' }));
    expect(err.code).toBe('TWL_LLM_UNAVAILABLE');
    const shown = await invoke(showOp, runtime, { name });
    expect(shown.agent).toMatchObject({ status: 'error', reason: expect.stringMatching(/^run #\d+ failed: LLM unavailable/) });
    expect(shown.runs[0]).toMatchObject({ status: 'failed', error: expect.stringContaining('not found') });
    expect(await events(name)).toEqual(['pending_validation', 'active', 'busy', 'error']);
    // Activation checks the model again: still missing, it says so and which models there are.
    const again = await errorOf(invoke(activateOp, runtime, { name }));
    expect(again.code).toBe('TWL_AGENT_STATE');
    expect(again.message).toContain('has no model gone:1b (it has: llama3.1:8b)');
    await invoke(editOp, runtime, { name, model: 'llama3.1:8b' });
    expect((await invoke(activateOp, runtime, { name })).agent.status).toBe('active');
    await invoke(deleteOp, runtime, { name });
  });

  it.skipIf(!backend.available)('activation refuses tool globs that match nothing and unknown models, naming each problem', async () => {
    const name = `bad-${id}`;
    await create({ name, kind: 'worker', parent: names.supervisor, tools: ['nosuch_*', SENTIMENT], model: 'mistral:7b' });
    const err = await errorOf(invoke(activateOp, runtime, { name }));
    expect(err.code).toBe('TWL_AGENT_STATE');
    expect(err.message).toContain('the tool glob "nosuch_*" matches no tool of the catalog');
    expect(err.message).toContain('has no model mistral:7b');
    expect(err.actions.join(' ')).toContain(`twl agent edit ${name}`);
    expect((await invoke(showOp, runtime, { name })).agent).toMatchObject({ status: 'error', reason: expect.stringContaining('activation failed') });
    // An agent in error does not run.
    const run = await errorOf(invoke(runOp, runtime, { name, prompt: 'x' }));
    expect(run.code).toBe('TWL_AGENT_STATE');
    expect(run.actions.join(' ')).toContain(`twl agent activate ${name}`);
    await invoke(deleteOp, runtime, { name });
  });

  it.skipIf(!backend.available)('refuses invalid input with the fix, and writes nothing', async () => {
    // This test's rows only: every agent name here (tried or created) has this describe's id in it, and other test files write to these tables meanwhile.
    const count = async () =>
      (
        await store.query<{ n: string }>(
          "SELECT (SELECT count(*) FROM twl_agents WHERE strpos(name, $1) > 0) + (SELECT count(*) FROM twl_tasks WHERE strpos(input->>'agent', $1) > 0) + (SELECT count(*) FROM twl_agent_runs WHERE strpos(agent, $1) > 0) AS n",
          [id],
        )
      ).rows[0]!.n;
    const before = await count();
    // (w2 is deactivated and activated again below: its reason changes.)
    const snapshot = async () => JSON.stringify((await invoke(listOp, runtime, {})).agents.filter((a) => a.name !== names.w2));
    const before2 = await snapshot();

    // Unknown agent: run, task, parent, with the nearest name.
    const unknown = await errorOf(invoke(runOp, runtime, { name: `${names.w1}x`, prompt: 'x' }));
    expect(unknown.code).toBe('TWL_AGENT_NOT_FOUND');
    expect(unknown.message).toBe(`There is no agent "${names.w1}x". Did you mean ${names.w1}?`);
    expect((await errorOf(invoke(taskCreateOp, runtime, { agent: `nobody-${id}`, prompt: 'x', now: true }))).code).toBe('TWL_AGENT_NOT_FOUND');
    expect((await errorOf(invoke(createOp, runtime, { name: `orphan-${id}`, kind: 'worker', parent: `nobody-${id}` }))).code).toBe('TWL_AGENT_NOT_FOUND');
    expect((await errorOf(invoke(taskCreateOp, runtime, { agent: names.w1, now: true }))).message).toContain('needs --prompt');

    // A cycle: a supervisor under its own descendant.
    const sub = `sub-${id}`;
    await create({ name: sub, kind: 'supervisor', parent: names.supervisor });
    const cycle = await errorOf(invoke(editOp, runtime, { name: names.supervisor, parent: sub }));
    expect(cycle.code).toBe('TWL_AGENT_HIERARCHY');
    expect(cycle.message).toBe(`Making ${sub} the parent of ${names.supervisor} would close a cycle: ${names.supervisor} → ${sub} → ${names.supervisor}.`);
    expect(cycle.actions[0]).toContain('Choose a parent');
    expect((await invoke(showOp, runtime, { name: names.supervisor })).agent.parent).toBe(names.master);
    await invoke(deleteOp, runtime, { name: sub });

    // Hierarchy rules.
    expect((await errorOf(invoke(createOp, runtime, { name: `w-${id}`, kind: 'worker', parent: names.w1 }))).message).toBe(`${names.w1} is a worker, and a worker's parent must be a supervisor or master.`);
    expect((await errorOf(invoke(createOp, runtime, { name: `m2-${id}`, kind: 'master', parent: names.master }))).code).toBe('TWL_AGENT_HIERARCHY');
    expect((await errorOf(invoke(createOp, runtime, { name: `s2-${id}`, kind: 'supervisor' }))).message).toContain('it needs a parent');
    expect((await errorOf(invoke(createOp, runtime, { name: names.w1, kind: 'worker', parent: names.supervisor }))).code).toBe('TWL_AGENT_EXISTS');
    expect((await errorOf(invoke(createOp, runtime, { name: 'Bad Name', kind: 'master' }))).code).toBe('TWL_INPUT_INVALID');
    expect((await errorOf(invoke(editOp, runtime, { name: names.supervisor, kind: 'worker' }))).message).toContain('a worker leads nobody');

    // Delete refuses while children exist, and says what to do.
    const del = await errorOf(invoke(deleteOp, runtime, { name: names.supervisor }));
    expect(del.code).toBe('TWL_AGENT_STATE');
    expect(del.message).toBe(`Agent ${names.supervisor} leads ${[names.w2, names.w1].sort().join(', ')}: delete them first, or give them another parent.`);

    // An invalid status transition: refused with the reason and where it may go, by the op and by the store itself.
    const already = await errorOf(invoke(activateOp, runtime, { name: names.w1 }));
    expect(already.message).toBe(`Agent ${names.w1} is active already.`);
    await invoke(deactivateOp, runtime, { name: names.w2 });
    const twice = await errorOf(invoke(deactivateOp, runtime, { name: names.w2 }));
    expect(twice.message).toBe(`Agent ${names.w2} is inactive already.`);
    const busy = await errorOf(transitionAgent(store, names.w2, 'busy'));
    expect(busy.code).toBe('TWL_AGENT_STATE');
    expect(busy.message).toBe(`Agent ${names.w2} is inactive: it cannot become busy. From inactive it may become: active, error, pending_validation.`);
    await expect(store.query("UPDATE twl_agents SET status = 'busy' WHERE name = $1", [names.w2])).rejects.toThrow(/cannot go from inactive to busy/);
    // An inactive agent is not offered to its parent, and does not run.
    expect((await errorOf(invoke(runOp, runtime, { name: names.w2, prompt: 'x' }))).message).toContain('is inactive');
    await invoke(activateOp, runtime, { name: names.w2 });

    expect(await count()).toBe(before);
    expect(await snapshot()).toBe(before2);
  });

  it.skipIf(!backend.available)('an edit of its tools sends it back to pending_validation; a busy agent cannot be edited, deactivated or deleted', async () => {
    const name = `editable-${id}`;
    await create({ name, kind: 'worker', parent: names.supervisor, tools: [SENTIMENT] });
    await invoke(activateOp, runtime, { name });
    expect((await invoke(editOp, runtime, { name, instructions: 'be brief' })).agent.status).toBe('active');
    expect((await invoke(editOp, runtime, { name, tools: [SENTIMENT, 'cache_cache_get'] })).agent).toMatchObject({ status: 'pending_validation', tools: [SENTIMENT, 'cache_cache_get'] });
    await invoke(activateOp, runtime, { name });
    await transitionAgent(store, name, 'busy');
    const refusals = await Promise.all([errorOf(invoke(editOp, runtime, { name, instructions: 'x' })), errorOf(invoke(deactivateOp, runtime, { name })), errorOf(invoke(deleteOp, runtime, { name }))]);
    expect(refusals.map((e) => e.code)).toEqual(['TWL_AGENT_STATE', 'TWL_AGENT_STATE', 'TWL_AGENT_STATE']);
    expect(refusals[1]!.message).toBe(`Agent ${name} is busy: it cannot become inactive. From busy it may become: active, error.`);
    await transitionAgent(store, name, 'active');
    await invoke(deleteOp, runtime, { name });
    expect(await events(name)).toEqual(['pending_validation', 'active', 'pending_validation', 'active', 'busy', 'active']);
  });
});

describe.each(backends)('agents without an LLM on the $name store', (backend) => {
  let runtime: Runtime;
  let cleanup: () => void;
  const id = randomUUID().slice(0, 6);

  beforeAll(async () => {
    if (!backend.available) return;
    const t = tempHome('twl-agents-nollm-');
    cleanup = t.cleanup;
    runtime = testRuntime(t.home, backend.config, { host: true, role: 'agents test' });
  });
  afterAll(async () => {
    await runtime?.close();
    cleanup?.();
  });

  it.skipIf(!backend.available)('runs its declared steps and says so; with no steps either, a clear error', async () => {
    const lead = `solo-${id}`;
    await invoke(createOp, runtime, { name: lead, kind: 'master', tools: [SENTIMENT], steps: { tools: [{ tool: SENTIMENT, input: { text: 'great, it works now, thanks' } }] } });
    await invoke(activateOp, runtime, { name: lead });
    const { run, steps } = await invoke(runOp, runtime, { name: lead, prompt: 'nightly check' });
    expect(run).toMatchObject({ status: 'completed', mode: 'steps', output: expect.stringMatching(/^Ran its declared steps without an LLM \(sentiment-analyzer_analyze_sentiment\): .*positive/) });
    expect(steps.map((s) => [s.kind, s.name, s.ok])).toEqual([['step', SENTIMENT, true]]);
    // Run by a key granted other namespaces: the agent's tools are cut to the caller's grant, as its role cuts them.
    const outside = await errorOf(invoke(runOp, runtime, { name: lead, prompt: 'nightly check' }, { caller: { face: 'rest', actor: 'rest:key:9', role: 'admin', namespaces: ['workflow'] } }));
    // Said as a tool that exists nowhere: the key learns nothing of the other namespaces.
    expect(outside.code).toBe('TWL_TOOL_UNKNOWN');
    expect(outside.message).toBe(`No tool named "${SENTIMENT}".`);

    const bare = `bare-${id}`;
    await invoke(createOp, runtime, { name: bare, kind: 'worker', parent: lead, tools: [SENTIMENT] });
    await invoke(activateOp, runtime, { name: bare });
    const err = await errorOf(invoke(runOp, runtime, { name: bare, prompt: 'x' }));
    expect(err.code).toBe('TWL_LLM_UNAVAILABLE');
    expect(err.message).toContain('no LLM to run with');
    expect(err.actions.join(' ')).toContain('--steps');
    // Nothing ran, nothing was recorded, and the agent stays active.
    expect((await invoke(showOp, runtime, { name: bare })).agent.status).toBe('active');
    expect((await invoke(showOp, runtime, { name: bare })).runs).toEqual([]);

    // A declared step outside its tools is refused at activation.
    await invoke(editOp, runtime, { name: bare, steps: { tools: [{ tool: 'cache_cache_stats' }] } });
    expect((await errorOf(invoke(activateOp, runtime, { name: bare }))).message).toContain('its declared step tool cache_cache_stats is not among its tools');
  });
});
