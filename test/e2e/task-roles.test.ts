import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { envelope, startHttpServe, tempHome, twl } from '../helpers.js';

/*
 * Tasks over REST with API keys, served by `twl serve --http --worker` (a worker in the server's
 * process): viewers read, operators run, managers create and approve; a task whose tool needs
 * approval waits for a manager's approval and then runs.
 */
describe('tasks through twl serve --http --worker, by role', () => {
  let home: string;
  let cleanup: () => void;
  let child: Awaited<ReturnType<typeof startHttpServe>>['child'];
  let base: string;
  const keys: Record<string, string> = {};

  beforeAll(async () => {
    ({ home, cleanup } = tempHome('twl-task-roles-'));
    ({ child, url: base } = await startHttpServe(home, ['--worker']));
    for (const role of ['viewer', 'operator', 'manager']) {
      keys[role] = (envelope((await twl(['keys', 'create', '--role', role, '--json'], { home })).stdout).result as { key: string }).key;
    }
  });
  afterAll(async () => {
    child.kill('SIGTERM');
    await child;
    cleanup();
  });

  const call = async (role: string, tool: string, input: Record<string, unknown>) => {
    const r = await fetch(`${base}/api/tools/${tool}`, { method: 'POST', body: JSON.stringify(input), headers: { 'content-type': 'application/json', authorization: `Bearer ${keys[role]}` } });
    const json = (await r.json()) as { result?: Record<string, unknown> };
    // Success answers {result}; a refusal {error}.
    return { status: r.status, body: json.result ?? (json as Record<string, unknown>) };
  };

  it('gates a destructive task on a manager\'s approval, refuses it cleanly to a viewer and an operator, then runs it', async () => {
    const key = `roles-${randomUUID()}`;
    expect((await call('operator', 'task_create', { tool: 'cache_cache_set', input: { key, value: 'approved run' }, now: true })).status).toBe(403);
    const created = await call('manager', 'task_create', { tool: 'cache_cache_set', input: { key, value: 'approved run' }, now: true });
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    const id = (created.body as { task: { id: number; status: string } }).task.id;
    expect((created.body as { task: { status: string } }).task.status).toBe('waiting_approval');

    for (const role of ['viewer', 'operator']) {
      const refused = await call(role, 'task_approve', { id });
      expect(refused.status, role).toBe(403);
      expect(JSON.stringify(refused.body)).toMatch(/manager/);
    }
    // Still waiting, nothing ran.
    const viewed = await call('viewer', 'task_show', { id });
    expect(viewed.status).toBe(200);
    expect(viewed.body).toMatchObject({ task: { status: 'waiting_approval' }, executions: [] });

    const approved = await call('manager', 'task_approve', { id });
    expect(approved.status).toBe(200);
    expect(approved.body).toMatchObject({ task: { status: 'queued', approvedBy: expect.any(String) } });
    await expect.poll(async () => ((await call('viewer', 'task_show', { id })).body as { task: { status: string } }).task.status, { timeout: 60_000, interval: 300 }).toBe('completed');
    const got = await twl(['cache', 'get', key], { home });
    expect(got.stdout.trim()).toBe('approved run');
    // An operator runs it again; a viewer may not.
    expect((await call('viewer', 'task_run', { id })).status).toBe(403);
    expect((await call('operator', 'task_run', { id })).status).toBe(200);
  });
});
