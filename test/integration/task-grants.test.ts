import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import activateOp from '../../src/ops/agent/activate.js';
import agentCreateOp from '../../src/ops/agent/create.js';
import agentShowOp from '../../src/ops/agent/show.js';
import { invoke } from '../../src/ops/invoke.js';
import createOp from '../../src/ops/task/create.js';
import listOp from '../../src/ops/task/list.js';
import { POSTGRES_URL, errorOf, hasPostgres, root } from '../helpers.js';
import { taskHarness } from './task-harness.js';

/*
 * A task keeps the namespaces of the key that created it, and a real worker holds every call of
 * its runs to them (the tool, a workflow's steps, an agent's declared steps), as if the key had
 * made them: inside, the run completes; outside, it fails with TWL_NAMESPACE_DENIED, audited,
 * and is not retried. A task of an unlimited creator runs as before. Both stores.
 */

const SENTIMENT = 'sentiment-analyzer_analyze_sentiment';
const fixture = path.join(root, 'test', 'fixtures', 'upstream-server.ts');
const schema = `pgboss_g${randomUUID().slice(0, 8)}`;
const id = randomUUID().slice(0, 6);
const base = {
  tasks: { schema, retryDelay: '1s', superviseInterval: '2s' },
  upstreams: [{ name: 'fx', transport: 'stdio' as const, command: process.execPath, args: [fixture], pin: false, tools: { include: ['read'] } }],
  workflows: [
    { name: 'inside', steps: [{ id: 'mood', kind: 'tool' as const, tool: SENTIMENT, input: { text: 'all good now' } }] },
    { name: 'outside', steps: [{ id: 'read', kind: 'tool' as const, tool: 'fx_read', input: { key: 'k' } }] },
  ],
};
const backends = [
  { name: 'embedded (hosted)', available: true, config: base },
  { name: 'postgres', available: hasPostgres, config: { ...base, database: { url: POSTGRES_URL } } },
];
/** A REST caller with an API key granted these namespaces (manager, as task_create needs). */
const key = (namespaces: string[]) => ({ caller: { face: 'rest' as const, actor: `rest:key:${namespaces.join('+')}`, role: 'manager' as const, namespaces } });

describe.each(backends)('task grants on the $name store', (backend) => {
  const t = taskHarness(backend, { schema, prefix: 'twl-task-grants-', role: 'task grants test', worker: 'grants-worker' });
  const until = t.until;
  /** The audit rows of the calls a task's runs made (written in batches, within a second or so). */
  const audit = async (task: number) =>
    (await t.store.query<Record<string, unknown>>('SELECT tool, via, role, decision, error_code FROM twl_tool_calls WHERE actor = $1 ORDER BY id', [`task:${task}`])).rows;

  it.skipIf(!backend.available)('a limited key\'s workflow task keeps its grant and completes when every step is inside it', async () => {
    const { task } = await invoke(createOp, t.runtime, { workflow: 'inside', now: true }, key(['twl', 'workflow']));
    expect(task).toMatchObject({ kind: 'workflow', tool: 'workflow_inside', namespaces: ['twl', 'workflow'], createdBy: 'rest:key:twl+workflow' });
    const shown = await until(task.id, ['completed', 'failed', 'dead_letter']);
    expect(shown.task.status).toBe('completed');
    expect(shown.task.namespaces).toEqual(['twl', 'workflow']);
    expect((await invoke(listOp, t.runtime, { limit: 5 })).tasks.find((t) => t.id === task.id)?.namespaces).toEqual(['twl', 'workflow']);
    await expect.poll(() => audit(task.id), { timeout: 10_000 }).toEqual(
      expect.arrayContaining([
        { tool: 'workflow_inside', via: 'task', role: 'manager', decision: 'allowed', error_code: null },
        { tool: SENTIMENT, via: 'workflow:inside', role: 'manager', decision: 'allowed', error_code: null },
      ]),
    );
  });

  it.skipIf(!backend.available)('a workflow step outside the grant fails the run with TWL_NAMESPACE_DENIED, audited, never retried', async () => {
    const { task } = await invoke(createOp, t.runtime, { workflow: 'outside', now: true, retries: 2 }, key(['twl', 'workflow']));
    expect(task.namespaces).toEqual(['twl', 'workflow']);
    const shown = await until(task.id, ['completed', 'failed', 'dead_letter']);
    expect(shown.task.status).toBe('failed');
    expect(shown.task.reason).toMatch(/^TWL_NAMESPACE_DENIED: Workflow outside \(run \d+\) failed at step read: No tool named "fx_read" in the namespaces this caller is granted \(twl, workflow\)/);
    // One attempt: a refusal is not retried (the task had 2 retries).
    expect(shown.executions).toHaveLength(1);
    expect(shown.executions[0]).toMatchObject({ status: 'failed', error: expect.stringMatching(/^TWL_NAMESPACE_DENIED: /), output: { error: { code: 'TWL_NAMESPACE_DENIED', message: expect.stringContaining('fx_read') } } });
    await expect.poll(() => audit(task.id), { timeout: 10_000 }).toEqual(
      expect.arrayContaining([{ tool: 'fx_read', via: 'workflow:outside', role: 'manager', decision: 'refused', error_code: 'TWL_NAMESPACE_DENIED' }]),
    );
    // Nothing reached the upstream's tool for this task.
    expect((await audit(task.id)).filter((r) => r.tool === 'fx_read' && r.decision !== 'refused')).toEqual([]);

    // The same workflow, for a key granted fx too, and for an unlimited creator (the command line): it runs.
    const granted = await invoke(createOp, t.runtime, { workflow: 'outside', now: true }, key(['twl', 'workflow', 'fx']));
    expect((await until(granted.task.id, ['completed', 'failed', 'dead_letter'])).task.status).toBe('completed');
    const unlimited = await invoke(createOp, t.runtime, { workflow: 'outside', now: true });
    expect(unlimited.task.namespaces).toBeNull();
    expect((await until(unlimited.task.id, ['completed', 'failed', 'dead_letter'])).task.status).toBe('completed');
  });

  it.skipIf(!backend.available)('an agent task is held to its creator\'s grant: a declared step outside it fails the run, audited, not retried', async () => {
    const agent = `reader-${id}`;
    await invoke(agentCreateOp, t.runtime, { name: agent, kind: 'master', tools: ['fx_read', SENTIMENT], steps: { tools: [{ tool: SENTIMENT, input: { text: 'fine' } }, { tool: 'fx_read', input: { key: 'a' } }] } });
    await invoke(activateOp, t.runtime, { name: agent });

    const { task } = await invoke(createOp, t.runtime, { agent, prompt: 'read a', now: true, retries: 2 }, key(['twl']));
    expect(task).toMatchObject({ kind: 'agent', namespaces: ['twl'] });
    const shown = await until(task.id, ['completed', 'failed', 'dead_letter']);
    expect(shown.task.status).toBe('failed');
    expect(shown.task.reason).toMatch(new RegExp(`^TWL_NAMESPACE_DENIED: Declared step fx_read of ${agent} failed: No tool named "fx_read" in the namespaces this run is granted \\(twl\\)`));
    expect(shown.executions).toHaveLength(1);
    // Its first step, inside the grant, ran; the second was refused.
    expect(shown.executions[0]!.toolCalls.map((c) => [c.tool, c.ok])).toEqual([[SENTIMENT, true], ['fx_read', false]]);
    await expect.poll(async () => (await t.store.query<Record<string, unknown>>("SELECT tool, via, decision, error_code FROM twl_tool_calls WHERE actor = $1 AND tool = 'fx_read'", [`agent:${agent}`])).rows, { timeout: 10_000 }).toEqual([
      { tool: 'fx_read', via: 'agent', decision: 'refused', error_code: 'TWL_NAMESPACE_DENIED' },
    ]);

    // The refusal was the caller's, not the agent's: it stays active for everyone else.
    expect((await invoke(agentShowOp, t.runtime, { name: agent })).agent).toMatchObject({ status: 'active', reason: expect.stringContaining('outside its caller\'s namespaces') });

    // Granted fx too, the same agent's task completes.
    const granted = await invoke(createOp, t.runtime, { agent, prompt: 'read a', now: true }, key(['twl', 'fx']));
    const ran = await until(granted.task.id, ['completed', 'failed', 'dead_letter']);
    expect(ran.task.status, JSON.stringify(ran)).toBe('completed');
  });

  it.skipIf(!backend.available)('refuses at creation a tool or workflow outside the key\'s grant, naming the grant', async () => {
    const tool = await errorOf(invoke(createOp, t.runtime, { tool: 'fx_read', input: { key: 'x' }, now: true }, key(['twl'])));
    expect(tool.code).toBe('TWL_NAMESPACE_DENIED');
    expect(tool.message).toBe('No tool named "fx_read" in the namespaces this key is granted (twl).');
    const workflow = await errorOf(invoke(createOp, t.runtime, { workflow: 'inside', now: true }, key(['twl'])));
    expect(workflow.code).toBe('TWL_NAMESPACE_DENIED');
    expect(workflow.message).toBe('No workflow named "inside" in the namespaces this key is granted (twl).');
    expect(workflow.actions.join(' ')).toMatch(/workflow namespace/);
    // Hostile names are quoted and cut, never run.
    const hostile = await errorOf(invoke(createOp, t.runtime, { tool: `fx_read"; drop table twl_tasks; --${'x'.repeat(150)}`, now: true }, key(['twl'])));
    expect(hostile.code).toBe('TWL_NAMESPACE_DENIED');
    expect(hostile.message.length).toBeLessThan(200);
  });
});
