import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import activateOp from '../../src/ops/agent/activate.js';
import agentCreateOp from '../../src/ops/agent/create.js';
import agentShowOp from '../../src/ops/agent/show.js';
import { createKey, revokeKey } from '../../src/http/keys.js';
import { invoke } from '../../src/ops/invoke.js';
import createOp from '../../src/ops/task/create.js';
import listOp from '../../src/ops/task/list.js';
import runOp from '../../src/ops/task/run.js';
import type { Task } from '../../src/studio/tasks.js';
import { errorOf, root } from '../helpers.js';
import { configBackends } from './backends.js';
import { taskHarness } from './task-harness.js';

/*
 * A task keeps the namespaces of the key that created it, and a real worker holds every call of
 * its runs to them (the tool, a workflow's steps, an agent's declared steps), as if the key had
 * made them: inside, the run completes; outside, it fails with TWL_NAMESPACE_DENIED, audited,
 * and is not retried. A task of an unlimited creator runs as before. A key limited to fewer
 * namespaces than a task's cannot see it nor act on it (through the catalog, as REST and MCP
 * call). A task whose creating key is revoked (or deleted) fails closed at its next run, and so does
 * one whose creating OAuth access token has expired. Both stores.
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
const backends = configBackends(base, { embedded: 'embedded (hosted)' });
/** A caller of the catalog as the REST face makes it for an API key (its grant, its id), manager. */
const restKey = (namespaces: string[] | undefined, keyId?: number) => ({
  face: 'rest' as const,
  // Unique to this run: the audit rows of the shared PostgreSQL outlive it.
  actor: `rest:key:${keyId ?? `${namespaces?.join('+') ?? 'all'}-${id}`}`,
  role: 'manager' as const,
  ...(namespaces ? { namespaces } : {}),
  ...(keyId !== undefined ? { keyId } : {}),
});
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
    expect(shown.task.reason).toMatch(/^TWL_TOOL_UNKNOWN: Workflow outside \(run \d+\) failed at step read: No tool named "fx_read"\./);
    // One attempt: a refusal is not retried (the task had 2 retries).
    expect(shown.executions).toHaveLength(1);
    expect(shown.executions[0]).toMatchObject({ status: 'failed', error: expect.stringMatching(/^TWL_TOOL_UNKNOWN: /), output: { error: { code: 'TWL_TOOL_UNKNOWN', message: expect.stringContaining('fx_read') } } });
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
    expect(shown.task.reason).toBe('TWL_TOOL_UNKNOWN: No tool named "fx_read".');
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
    expect(tool.code).toBe('TWL_TOOL_UNKNOWN');
    expect(tool.message).toBe('No tool named "fx_read".');
    const workflow = await errorOf(invoke(createOp, t.runtime, { workflow: 'inside', now: true }, key(['twl'])));
    expect(workflow.code).toBe('TWL_TOOL_UNKNOWN');
    expect(workflow.message).toBe('No tool named "workflow_inside".');
    // Hostile names are quoted and cut, never run.
    const hostile = await errorOf(invoke(createOp, t.runtime, { tool: `fx_read"; drop table twl_tasks; --${'x'.repeat(150)}`, now: true }, key(['twl'])));
    expect(hostile.code).toBe('TWL_TOOL_UNKNOWN');
    expect(hostile.message.length).toBeLessThan(240);
  });

  /** Calls a task tool through the catalog, as REST and MCP do (the audit row included). */
  const call = async <T = { task: Task }>(name: string, input: Record<string, unknown>, caller: ReturnType<typeof restKey>) =>
    (await t.runtime.tools.call(name, input, caller)).structured as T;
  const refusals = async (actor: string) =>
    (await t.store.query<Record<string, unknown>>("SELECT tool, decision, error_code FROM twl_tool_calls WHERE actor = $1 AND decision = 'refused' ORDER BY id", [actor])).rows;

  it.skipIf(!backend.available)('a key limited to fewer namespaces than a task\'s cannot see it nor run, resume, approve, pause or cancel it; refusals are audited', async () => {
    const narrow = restKey(['twl', 'workflow']);
    const wide = restKey(['fx', 'twl', 'workflow']);
    // Drafts: nothing runs unless a caller manages to resume or run them.
    const wideTask = (await call('task_create', { workflow: 'outside', draft: true, now: true }, wide)).task;
    const unlimitedTask = (await invoke(createOp, t.runtime, { workflow: 'outside', draft: true, now: true })).task;
    const ownTask = (await call('task_create', { workflow: 'inside', draft: true, now: true }, narrow)).task;
    expect([wideTask.namespaces, unlimitedTask.namespaces, ownTask.namespaces]).toEqual([['fx', 'twl', 'workflow'], null, ['twl', 'workflow']]);
    const missing = 9_000_000_000 + Math.floor(Math.random() * 1_000_000);

    for (const verb of ['task_run', 'task_resume', 'task_approve', 'task_pause', 'task_cancel']) {
      for (const id of [wideTask.id, unlimitedTask.id, missing]) {
        const refused = await errorOf(call(verb, { id }, narrow));
        // The same words for a task outside the grant and one that does not exist: nothing is learnt of other tasks.
        expect({ verb, code: refused.code, message: refused.message }).toEqual({ verb, code: 'TWL_NAMESPACE_DENIED', message: `No task #${id} in the namespaces this key is granted (twl, workflow).` });
      }
    }
    for (const verb of ['task_show', 'task_logs']) {
      for (const id of [wideTask.id, unlimitedTask.id, missing]) {
        const hidden = await errorOf(call(verb, { id }, narrow));
        expect({ verb, code: hidden.code, message: hidden.message }).toEqual({ verb, code: 'TWL_TASK_NOT_FOUND', message: `No task #${id} in the namespaces this key is granted (twl, workflow).` });
      }
    }
    // Nothing moved: both are still drafts.
    expect((await until(wideTask.id, ['draft'])).task.status).toBe('draft');
    expect((await until(unlimitedTask.id, ['draft'])).task.status).toBe('draft');
    // Every refused action has its audit row.
    await expect.poll(async () => (await refusals(narrow.actor)).filter((r) => r.error_code === 'TWL_NAMESPACE_DENIED').length, { timeout: 10_000 }).toBe(15);
    expect(new Set((await refusals(narrow.actor)).map((r) => r.tool))).toEqual(new Set(['task_run', 'task_resume', 'task_approve', 'task_pause', 'task_cancel']));

    // The list holds only tasks within the grant: its own, not the wider ones.
    const listed = (await call<{ tasks: Task[] }>('task_list', { limit: 1000 }, narrow)).tasks;
    expect(listed.map((x) => x.id)).toContain(ownTask.id);
    expect(listed.map((x) => x.id)).not.toContain(wideTask.id);
    expect(listed.map((x) => x.id)).not.toContain(unlimitedTask.id);
    for (const x of listed) expect(x.namespaces?.every((n) => ['twl', 'workflow'].includes(n)), JSON.stringify(x)).toBe(true);

    // Its own task it may read and submit; a wider key sees it too (its grant holds the task's).
    expect((await call<{ task: Task }>('task_show', { id: ownTask.id }, narrow)).task.id).toBe(ownTask.id);
    expect((await call<{ task: Task }>('task_show', { id: ownTask.id }, wide)).task.id).toBe(ownTask.id);
    await call('task_resume', { id: ownTask.id }, narrow);
    expect((await until(ownTask.id, ['completed', 'failed', 'dead_letter'])).task.status).toBe('completed');
    // An unlimited key and the command line act on every task.
    expect((await call('task_cancel', { id: unlimitedTask.id }, restKey(undefined))).task.status).toBe('cancelled');
    expect((await invoke((await import('../../src/ops/task/cancel.js')).default, t.runtime, { id: wideTask.id })).task.status).toBe('cancelled');
  });

  it.skipIf(!backend.available)('a task whose creating key is revoked (or deleted) fails closed at its next run: TWL_KEY_REVOKED, audited, not retried; a cron task loses its schedule', async () => {
    const key = await createKey(t.store, { role: 'manager', name: `grants-${id}`, namespaces: ['twl'] });
    const caller = restKey(['twl'], key.id);
    const once = (await call('task_create', { tool: SENTIMENT, input: { text: 'all fine' }, now: true, retries: 2 }, caller)).task;
    expect(once).toMatchObject({ createdByKey: key.id, namespaces: ['twl'] });
    expect((await until(once.id, ['completed', 'failed', 'dead_letter'])).task.status).toBe('completed');
    const cron = (await call('task_create', { tool: SENTIMENT, input: { text: 'hourly' }, cron: '0 * * * *' }, caller)).task;
    expect(cron).toMatchObject({ status: 'scheduled', createdByKey: key.id });
    const schedules = async () => (await t.store.query(`SELECT key FROM ${schema}.schedule WHERE key = $1`, [String(cron.id)])).rows.length;
    expect(await schedules()).toBe(1);

    expect((await revokeKey(t.store, String(key.id))).revoked).toBe(true);
    // The command line runs both again at once: each run is refused before anything is called.
    await invoke(runOp, t.runtime, { id: once.id });
    const failed = await until(once.id, ['failed', 'dead_letter', 'completed']);
    expect(failed.task.status).toBe('failed');
    expect(failed.task.reason).toMatch(new RegExp(`^TWL_KEY_REVOKED: The API key #${key.id} that created task #${once.id} was revoked at \\S+: the task no longer runs\\.$`));
    // One new attempt: the refusal is not retried (the task has 2 retries).
    expect(failed.executions.map((e) => e.status)).toEqual(['completed', 'failed']);
    expect(failed.executions[1]).toMatchObject({ error: expect.stringMatching(/^TWL_KEY_REVOKED: /), output: { error: { code: 'TWL_KEY_REVOKED' } } });

    await invoke(runOp, t.runtime, { id: cron.id });
    const stopped = await until(cron.id, ['failed', 'completed', 'dead_letter']);
    expect(stopped.task.status).toBe('failed');
    expect(stopped.task.reason).toMatch(/^TWL_KEY_REVOKED: .* Its schedule was removed\.$/);
    expect(await schedules()).toBe(0);
    await expect.poll(() => refusals(`task:${cron.id}`), { timeout: 10_000 }).toEqual([{ tool: SENTIMENT, decision: 'refused', error_code: 'TWL_KEY_REVOKED' }]);
    expect(await refusals(`task:${once.id}`)).toEqual([{ tool: SENTIMENT, decision: 'refused', error_code: 'TWL_KEY_REVOKED' }]);

    // A key deleted from the store (by hand) fails its tasks the same way; a task created without a key is unaffected.
    const gone = await createKey(t.store, { role: 'manager', name: `grants-gone-${id}` });
    const orphan = (await call('task_create', { tool: SENTIMENT, input: { text: 'x' }, now: true, draft: true }, restKey(undefined, gone.id))).task;
    expect(orphan).toMatchObject({ createdByKey: gone.id, namespaces: null });
    await t.store.query('DELETE FROM twl_api_keys WHERE id = $1', [gone.id]);
    await invoke((await import('../../src/ops/task/resume.js')).default, t.runtime, { id: orphan.id });
    expect((await until(orphan.id, ['failed', 'completed', 'dead_letter'])).task.reason).toBe(`TWL_KEY_REVOKED: The API key #${gone.id} that created task #${orphan.id} no longer exists: the task no longer runs.`);
    const local = (await invoke(createOp, t.runtime, { tool: SENTIMENT, input: { text: 'x' }, now: true })).task;
    expect(local.createdByKey).toBeNull();
    expect((await until(local.id, ['failed', 'completed', 'dead_letter'])).task.status).toBe('completed');
  });

  /** A caller of the catalog as the REST face makes it for an OAuth access token (manager) that expires at `expiresAt`. */
  const oauth = (expiresAt: number) => ({
    face: 'rest' as const,
    actor: `rest:jwt:alice-${id} (alice@example.test)`,
    role: 'manager' as const,
    grantExpiresAt: new Date(expiresAt).toISOString(),
  });

  it.skipIf(!backend.available)('a task created with an OAuth access token runs while the token is valid and fails closed once it expired: TWL_GRANT_EXPIRED, audited, not retried; a cron task loses its schedule', async () => {
    const expiresAt = Math.floor(Date.now() / 1000 + 2 * 3600) * 1000;
    const caller = oauth(expiresAt);
    // Within its token's life, a task runs as any other; it records when the token expires.
    const once = (await call('task_create', { tool: SENTIMENT, input: { text: 'all fine' }, now: true, retries: 2 }, caller)).task;
    expect(once).toMatchObject({ createdBy: caller.actor, createdByKey: null, grantExpiresAt: new Date(expiresAt).toISOString() });
    expect((await until(once.id, ['completed', 'failed', 'dead_letter'])).task.status).toBe('completed');
    const cron = (await call('task_create', { tool: SENTIMENT, input: { text: 'hourly' }, cron: '0 * * * *' }, caller)).task;
    expect(cron).toMatchObject({ status: 'scheduled', grantExpiresAt: new Date(expiresAt).toISOString() });
    const schedules = async () => (await t.store.query(`SELECT key FROM ${schema}.schedule WHERE key = $1`, [String(cron.id)])).rows.length;
    expect(await schedules()).toBe(1);

    // A token about to expire: its task, kept as a draft, is submitted once the token has expired
    // (a minute to create it, however slow the machine; then the expiry is put behind it, as below).
    const soon = Date.now() + 60_000;
    const brief = (await call('task_create', { tool: SENTIMENT, input: { text: 'later' }, now: true, draft: true }, oauth(soon))).task;
    expect(brief.grantExpiresAt).toBe(new Date(soon).toISOString());
    const expired = new Date(Date.now() - 1000).toISOString();
    await t.store.query('UPDATE twl_tasks SET grant_expires_at = $2 WHERE id = $1', [brief.id, expired]);
    await invoke((await import('../../src/ops/task/resume.js')).default, t.runtime, { id: brief.id });
    const late = await until(brief.id, ['failed', 'completed', 'dead_letter']);
    expect(late.task.status).toBe('failed');
    expect(late.task.reason).toBe(`TWL_GRANT_EXPIRED: The grant of ${caller.actor}, who created task #${brief.id} with an OAuth access token, ended when that token expired at ${expired}: the task no longer runs.`);
    expect(late.executions).toHaveLength(1);
    expect(late.executions[0]).toMatchObject({ status: 'failed', error: expect.stringMatching(/^TWL_GRANT_EXPIRED: /), output: { error: { code: 'TWL_GRANT_EXPIRED' } } });

    // Time passes for the other two: their token's expiry is behind them now.
    await t.store.query("UPDATE twl_tasks SET grant_expires_at = now() - interval '1 second' WHERE id = ANY($1::bigint[])", [[once.id, cron.id]]);
    await invoke(runOp, t.runtime, { id: once.id });
    const failed = await until(once.id, ['failed', 'dead_letter', 'completed']);
    expect(failed.task.status).toBe('failed');
    expect(failed.task.reason).toMatch(/^TWL_GRANT_EXPIRED: .* ended when that token expired at \S+: the task no longer runs\.$/);
    // One new attempt: the refusal is not retried (the task has 2 retries).
    expect(failed.executions.map((e) => e.status)).toEqual(['completed', 'failed']);

    await invoke(runOp, t.runtime, { id: cron.id });
    const stopped = await until(cron.id, ['failed', 'completed', 'dead_letter']);
    expect(stopped.task.status).toBe('failed');
    expect(stopped.task.reason).toMatch(/^TWL_GRANT_EXPIRED: .* Its schedule was removed\.$/);
    expect(await schedules()).toBe(0);
    expect(stopped.executions.map((e) => e.status)).toEqual(['failed']);
    for (const task of [brief, once, cron]) {
      await expect.poll(() => refusals(`task:${task.id}`), { timeout: 10_000 }).toEqual([{ tool: SENTIMENT, decision: 'refused', error_code: 'TWL_GRANT_EXPIRED' }]);
    }
    // Tasks of the command line and of API keys have no such end.
    expect((await invoke(createOp, t.runtime, { tool: SENTIMENT, input: { text: 'x' }, now: true, draft: true })).task.grantExpiresAt).toBeNull();
  });

  it.skipIf(!backend.available)('refuses at creation an OAuth caller\'s task that could not run once before its token expires', async () => {
    const caller = oauth(Date.now() + 10 * 60_000);
    const at = await errorOf(call('task_create', { tool: SENTIMENT, input: { text: 'x' }, at: new Date(Date.now() + 3600_000).toISOString() }, caller));
    expect(at.code).toBe('TWL_GRANT_EXPIRED');
    expect(at.message).toMatch(new RegExp(`^This task would first run at \\S+, and the OAuth access token that creates it expires at ${caller.grantExpiresAt}: `));
    const yearly = await errorOf(call('task_create', { tool: SENTIMENT, input: { text: 'x' }, cron: '0 0 1 1 *' }, caller));
    expect(yearly.code).toBe('TWL_GRANT_EXPIRED');
    // Before the expiry it is created (a draft: nothing runs).
    const soon = (await call('task_create', { tool: SENTIMENT, input: { text: 'x' }, at: new Date(Date.now() + 60_000).toISOString(), draft: true }, caller)).task;
    expect(soon.grantExpiresAt).toBe(caller.grantExpiresAt);
  });
});
