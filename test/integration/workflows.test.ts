import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { invoke } from '../../src/ops/invoke.js';
import { coreOps } from '../../src/ops/registry.js';
import listOp from '../../src/ops/workflow/list.js';
import runOp from '../../src/ops/workflow/run.js';
import runsOp from '../../src/ops/workflow/runs.js';
import showOp from '../../src/ops/workflow/show.js';
import validateOp from '../../src/ops/workflow/validate.js';
import { Runtime } from '../../src/runtime/context.js';
import type { ConfigInput } from '../../src/runtime/config.js';
import { registry } from '../../src/runtime/metrics.js';
import { lazyCatalog } from '../../src/tools/index.js';
import createTaskOp from '../../src/ops/task/create.js';
import showTaskOp from '../../src/ops/task/show.js';
import { TaskWorker } from '../../src/studio/worker.js';
import { POSTGRES_URL, loadedFor, postgresAdmin, quietLogger, tempHome, errorOf, waitFor } from '../helpers.js';
import { configBackends } from './backends.js';

/*
 * The workflow engine on both store backends, with twl's own ops as the steps' tools: loading and
 * validation (file, line, step, problem), runs of tool/chain/gate/parallel steps and their records,
 * approvals (asked, refused, nobody to answer), timeouts and cancellation, the catalog tool, metrics.
 */

const SENTIMENT = 'sentiment-analyzer_analyze_sentiment';
const database = `twl_wfe_${randomUUID().slice(0, 8)}`;

const backends = configBackends({}, { url: POSTGRES_URL.replace(/\/[^/]*$/, `/${database}`) });

const files: Record<string, string> = {
  'triage.yaml': `
name: triage
title: Triage a message
input: { type: object, properties: { text: { type: string } }, required: [text] }
output: "{ 'tone': steps.tone.sentiment, 'stats': steps.fan.ok }"
steps:
  - id: tone
    kind: tool
    tool: ${SENTIMENT}
    input: { text: "{{ input.text }}" }
  - id: calm
    kind: gate
    if: "steps.tone.sentiment = 'positive'"
    then: stop
    message: "Nothing to do: the message is {{ steps.tone.sentiment }}"
  - id: fan
    kind: parallel
    concurrency: 2
    branches:
      - { id: again, kind: tool, tool: ${SENTIMENT}, input: { text: "again: {{ input.text }}" } }
      - { id: stats, kind: tool, tool: cache_cache_stats }
      - { id: broken, kind: tool, tool: cache_cache_get, input: { nokey: 1 } }
  - id: skipped
    kind: tool
    when: "steps.fan.ok = 'nothing'"
    tool: cache_cache_stats
`,
  'approve.yaml': `
name: touch-file
input: { type: object, properties: { file: { type: string } }, required: [file] }
steps:
  - { id: before, kind: tool, tool: cache_cache_stats }
  - id: touch
    kind: chain
    steps:
      - { id: do_touch, kind: tool, tool: real-desktop-commander_execute_command, input: { command: ["touch", "{{ input.file }}"] } }
`,
  'slow.yaml': `
name: slow
input: { type: object, properties: { seconds: { type: string } } }
steps:
  - { id: first, kind: tool, tool: cache_cache_stats }
  - { id: nap, kind: tool, tool: real-desktop-commander_execute_command, timeout: 1s, input: { command: ["sleep", "{{ input.seconds }}"] } }
`,
  // A step that runs until it is cancelled (the commander's own 30 s bound aside).
  'nap.yaml': `
name: nap
steps:
  - { id: first, kind: tool, tool: cache_cache_stats }
  - { id: nap, kind: tool, tool: real-desktop-commander_execute_command, input: { command: ["sleep", "60"] } }
`,
  'ask.yaml': `
name: asked
steps:
  - { id: check, kind: tool, tool: cache_cache_stats, approval: ask }
`,
};

const broken = `
name: broken
steps:
  - id: one
    kind: tool
    tool: cache_cache_stat
  - id: two
    kind: gate
    if: "steps.three.x = 1"
    then: stop
  - id: three
    kind: parallel
    branches:
      - { id: a, kind: tool, tool: cache_cache_stats }
      - { id: b, kind: tool, tool: cache_cache_stats, input: { x: "{{ steps.a.hits }}" } }
  - id: one
    kind: tol
  - { id: five, kind: gate, if: "steps.one = ((", then: stop }
  - { id: six, kind: tool, tool: workflow_triage }
`;

describe.each(backends)('workflows on the $name store', (backend) => {
  let runtime: Runtime;
  let home: string;
  let cleanup: () => void;

  beforeAll(async () => {
    if (!backend.available) return;
    if (backend.name === 'postgres') await postgresAdmin(`CREATE DATABASE ${database}`);
    ({ home, cleanup } = tempHome('twl-wf-'));
    const config: ConfigInput = {
      ...backend.config,
      tasks: { schema: `pgboss_wf${randomUUID().slice(0, 8)}`, superviseInterval: '2s' },
      commander: { cwd: [home], rules: [{ program: 'touch', decision: 'ask', reason: 'it writes' }, { program: 'sleep', decision: 'allow' }] },
      workflows: [{ name: 'inline', steps: [{ id: 'only', kind: 'tool', tool: 'cache_cache_stats' }] }],
    };
    const file = path.join(home, 'twl.config.json');
    writeFileSync(file, JSON.stringify(config));
    mkdirSync(path.join(home, 'workflows'));
    for (const [name, text] of Object.entries(files)) writeFileSync(path.join(home, 'workflows', name), text);
    runtime = new Runtime({ ...loadedFor(home, config), file }, quietLogger(), { actor: 'test', ops: coreOps, tools: (rt) => lazyCatalog(rt, coreOps), host: backend.name === 'embedded' });
  });
  afterAll(async () => {
    await runtime?.close();
    cleanup?.();
    if (backend.available && backend.name === 'postgres') await postgresAdmin(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`).catch(() => undefined);
  });

  it.runIf(backend.available)('lists the valid workflows with what they derive from their tools', async () => {
    const r = await invoke(listOp, runtime, {});
    expect(r.skipped).toEqual([]);
    expect(r.workflows.map((w) => w.name).sort()).toEqual(['asked', 'inline', 'nap', 'slow', 'touch-file', 'triage']);
    const triage = r.workflows.find((w) => w.name === 'triage')!;
    expect(triage).toMatchObject({ tool: 'workflow_triage', steps: ['tone', 'calm', 'fan', 'skipped'], minRole: 'viewer', needsApproval: false });
    expect(r.workflows.find((w) => w.name === 'touch-file')).toMatchObject({ minRole: 'operator' });
    expect(r.workflows.find((w) => w.name === 'asked')).toMatchObject({ needsApproval: true });
    const tool = await runtime.tools.get('workflow_touch_file');
    expect(tool).toMatchObject({ source: 'workflow', minRole: 'operator', annotations: { readOnlyHint: false } });
    expect((await runtime.tools.list({ source: 'workflow' })).map((t) => t.name).sort()).toEqual(['workflow_asked', 'workflow_inline', 'workflow_nap', 'workflow_slow', 'workflow_touch_file', 'workflow_triage']);
  });

  it.runIf(backend.available)('refuses a broken file naming the file, the line, the step and the problem', async () => {
    const file = path.join(home, 'broken.yaml');
    writeFileSync(file, broken);
    const err = await errorOf(invoke(validateOp, runtime, { file }));
    expect(err.code).toBe('TWL_WORKFLOW_INVALID');
    const problems = (err.details as { problems: Array<{ file: string; step?: string; line?: number; problem: string }> }).problems;
    const find = (step: string, re: RegExp) => problems.find((p) => p.step === step && re.test(p.problem));
    expect(find('one', /unknown tool "cache_cache_stat"; did you mean cache_cache_stats\?/)).toMatchObject({ file, line: 6 });
    expect(find('one', /unknown kind "tol"; did you mean tool\?/)).toMatchObject({ line: 17 });
    expect(find('two', /steps\.three, which comes later/)).toBeTruthy();
    expect(find('three/b', /another branch of three/)).toBeTruthy();
    expect(find('five', /does not parse/)).toBeTruthy();
    expect(find('six', /is a workflow/)).toBeTruthy();
    expect(err.message).toContain(`${file}:6: workflow broken, step one: tool: unknown tool`);
    // The configured workflows are all valid.
    await expect(invoke(validateOp, runtime, {})).resolves.toMatchObject({ problems: [] });
  });

  it.runIf(backend.available)('runs tools, a parallel step with one failing branch (all settled) and a skipped step, and records every step', async () => {
    const r = await invoke(runOp, runtime, { name: 'triage', input: { text: 'The database is down again and I am furious: customers cannot pay, this is unacceptable!' } });
    expect(r.status).toBe('completed');
    expect(r.output).toMatchObject({ tone: 'negative', stats: ['again', 'stats'] });
    const byPath = Object.fromEntries(r.steps.map((s) => [s.path, s]));
    expect(byPath['fan/broken']).toMatchObject({ status: 'failed', error: { code: 'TWL_INPUT_INVALID' } });
    expect(byPath['fan']).toMatchObject({ status: 'completed', decision: '2 of 3 branches ok' });
    expect(byPath['skipped']).toMatchObject({ status: 'skipped' });
    expect(byPath['calm']).toMatchObject({ status: 'completed', decision: 'pass' });

    const shown = await invoke(showOp, runtime, { run: r.run });
    expect(shown.run).toMatchObject({ id: r.run, workflow: 'triage', status: 'completed', actor: 'test', input: { text: expect.stringContaining('database') } });
    const fan = shown.steps.find((s) => s.path === 'fan')!;
    expect(fan.output).toMatchObject({ failed: [{ id: 'broken', status: 'failed', code: 'TWL_INPUT_INVALID' }] });
    expect(shown.steps.find((s) => s.path === 'fan/again')).toMatchObject({ parent: fan.seq, input: { text: expect.stringMatching(/^again: The database/) }, output: { sentiment: 'negative' } });
    expect(shown.steps.find((s) => s.path === 'tone')).toMatchObject({ parent: null, kind: 'tool', status: 'completed' });

    const runs = await invoke(runsOp, runtime, { workflow: 'triage' });
    expect(runs.runs[0]).toMatchObject({ id: r.run, status: 'completed' });
    const metrics = await registry.getSingleMetricAsString('workflow_runs_total');
    expect(metrics).toMatch(/workflow_runs_total\{workflow="triage",status="completed"\} [1-9]/);
    expect(await registry.getSingleMetricAsString('workflow_step_duration_seconds')).toMatch(/workflow="triage",step="fan\/again"/);
  });

  it.runIf(backend.available)('stops the run at a gate (a success, status stopped, the gate named)', async () => {
    const r = await invoke(runOp, runtime, { name: 'triage', input: { text: 'Thanks a lot, everything works great, nice job' } });
    expect(r).toMatchObject({ status: 'stopped', step: 'calm', message: 'Nothing to do: the message is positive' });
    expect(r.steps.map((s) => s.path)).toEqual(['tone', 'calm']);
    const shown = await invoke(showOp, runtime, { run: r.run });
    expect(shown.run).toMatchObject({ status: 'stopped', step: 'calm' });
    expect(shown.steps[1]).toMatchObject({ status: 'stopped', decision: { decision: 'stop' } });
  });

  it.runIf(backend.available)('asks for a step whose tool needs approval: approved, refused, or waiting with nobody to answer', async () => {
    const file = path.join(home, `touched-${randomUUID().slice(0, 6)}`);
    const questions: string[] = [];
    const waiting = await errorOf(invoke(runOp, runtime, { name: 'touch-file', input: { file } }));
    expect(waiting.code).toBe('TWL_APPROVAL_REQUIRED');
    const details = waiting.details as { run: number; status: string; step: string; message: string };
    expect(details).toMatchObject({ status: 'waiting_approval', step: 'touch/do_touch' });
    expect(details.message).toMatch(/--yes/);
    expect(existsSync(file)).toBe(false);
    expect((await invoke(showOp, runtime, { run: details.run })).run).toMatchObject({ status: 'waiting_approval', step: 'touch/do_touch' });

    const refused = await errorOf(invoke(runOp, runtime, { name: 'touch-file', input: { file } }, { ask: async (q) => (questions.push(q), false) }));
    expect((refused.details as { status: string }).status).toBe('failed');
    expect(questions[0]).toMatch(/touch/);
    expect(existsSync(file)).toBe(false);

    const ok = await invoke(runOp, runtime, { name: 'touch-file', input: { file } }, { ask: async () => true });
    expect(ok.status).toBe('completed');
    expect(existsSync(file)).toBe(true);

    // approval: ask on a step asks even for a read-only tool.
    const asked = await errorOf(invoke(runOp, runtime, { name: 'asked', input: {} }));
    expect(asked.details).toMatchObject({ status: 'waiting_approval', step: 'check' });
    await expect(invoke(runOp, runtime, { name: 'asked', input: {} }, { ask: async () => true })).resolves.toMatchObject({ status: 'completed' });
  });

  it.runIf(backend.available)('ends a step at its timeout, and records a cancelled run with the step that was running', async () => {
    const timedOut = await errorOf(invoke(runOp, runtime, { name: 'slow', input: { seconds: '20' } }));
    expect(timedOut.code).toBe('TWL_WORKFLOW_FAILED');
    expect(timedOut.details).toMatchObject({ status: 'failed', step: 'nap', error: { code: 'TWL_TIMEOUT', message: expect.stringMatching(/within 1s/) } });

    // Cancelled once its run's record shows step nap running (sleep 60): the cancel stops that step,
    // the run ends well before the sleep would have (a loose bound: the point is not speed).
    const controller = new AbortController();
    const running = invoke(runOp, runtime, { name: 'nap', input: {} }, { signal: controller.signal });
    const napping = await waitFor('step nap running', async () => {
      const [run] = (await invoke(runsOp, runtime, { workflow: 'nap', status: ['running'], limit: 1 })).runs;
      if (!run) return undefined;
      return (await invoke(showOp, runtime, { run: run.id })).steps.some((s) => s.path === 'nap' && s.status === 'running') ? run.id : undefined;
    }, 60_000);
    const started = Date.now();
    controller.abort(new Error('stop'));
    const cancelled = await errorOf(running);
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(cancelled.code).toBe('TWL_INTERRUPTED');
    expect((cancelled.details as { run: number }).run).toBe(napping);
    const shown = await invoke(showOp, runtime, { run: napping });
    expect(shown.run).toMatchObject({ status: 'cancelled', step: 'nap', error: { code: 'TWL_INTERRUPTED', message: expect.stringMatching(/nap/) } });
    expect(shown.steps.map((s) => [s.path, s.status])).toEqual([
      ['first', 'completed'],
      ['nap', 'cancelled'],
    ]);
  });

  it.runIf(backend.available)('refuses bad input against the declared schema, and an unknown workflow', async () => {
    await expect(invoke(runOp, runtime, { name: 'triage', input: { text: 42 } })).rejects.toMatchObject({ code: 'TWL_INPUT_INVALID', message: expect.stringMatching(/text/) });
    await expect(invoke(runOp, runtime, { name: 'nope', input: {} })).rejects.toMatchObject({ code: 'TWL_WORKFLOW_UNKNOWN' });
    await expect(invoke(showOp, runtime, { run: 99_999_999 })).rejects.toMatchObject({ code: 'TWL_WORKFLOW_RUN_NOT_FOUND' });
  });

  it.runIf(backend.available)('checks the caller\'s role: the workflow tool, and each step\'s tool', async () => {
    const err = await errorOf(runtime.tools.call('workflow_touch_file', { file: path.join(home, 'x') }, { face: 'rest', actor: 'rest:viewer', role: 'viewer' }));
    expect(err.code).toBe('TWL_ROLE_DENIED');
    const ok = await runtime.tools.call('workflow_inline', {}, { face: 'rest', actor: 'rest:viewer', role: 'viewer' });
    expect(ok.structured).toMatchObject({ status: 'completed', workflow: 'inline' });
  });

  it.runIf(backend.available)('runs a workflow as a task (kind workflow): the worker calls workflow_<name>, and the run is recorded', async () => {
    const worker = await TaskWorker.start(runtime, { concurrency: 1, queues: ['default'], name: 'wf-worker' });
    try {
      await expect(invoke(createTaskOp, runtime, { workflow: 'nope', now: true })).rejects.toMatchObject({ code: 'TWL_WORKFLOW_UNKNOWN' });
      await expect(invoke(createTaskOp, runtime, { workflow: 'triage', input: { txt: 'x' }, now: true })).rejects.toMatchObject({ code: 'TWL_INPUT_INVALID', message: expect.stringMatching(/workflow_triage/) });
      const { task } = await invoke(createTaskOp, runtime, { workflow: 'triage', input: { text: 'the disk is full, urgent' }, now: true });
      expect(task).toMatchObject({ kind: 'workflow', tool: 'workflow_triage' });
      await expect.poll(async () => (await invoke(showTaskOp, runtime, { id: task.id })).task.status, { timeout: 60_000, interval: 300 }).toBe('completed');
      const { executions } = await invoke(showTaskOp, runtime, { id: task.id });
      expect(executions[0]!.output).toMatchObject({ workflow: 'triage', status: 'completed' });
      const runs = await invoke(runsOp, runtime, { workflow: 'triage', limit: 1 });
      expect(runs.runs[0]).toMatchObject({ status: 'completed', actor: `task:${task.id}` });
    } finally {
      await worker.stop(2000);
    }
  });
});
