import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey, envelope, root, startHttpServe, startWorker, stopServe, tempHome, twl, waitFor } from '../helpers.js';

/**
 * Over REST, with a real `twl worker` process (which never sees the key): a task created by a key
 * limited to namespaces keeps them, and its runs are held to them. A workflow whose step is
 * outside the grant fails with TWL_NAMESPACE_DENIED, audited, after one attempt; one whose steps
 * are inside completes; a tool outside the grant is refused at creation.
 */
const fixture = path.join(root, 'test', 'fixtures', 'upstream-server.ts');
const SENTIMENT = 'sentiment-analyzer_analyze_sentiment';

interface Shown {
  task: { id: number; status: string; reason: string | null; namespaces: string[] | null };
  executions: Array<{ attempt: number; status: string; error: string | null; output: unknown }>;
}

describe('task grants over REST with a real worker', () => {
  const { home, cleanup } = tempHome('twl-task-grants-');
  let serve: Awaited<ReturnType<typeof startHttpServe>>;
  let worker: Awaited<ReturnType<typeof startWorker>> | undefined;
  let key = '';
  const rest = async <T>(tool: string, body: unknown) => {
    const res = await fetch(`${serve.url}/api/tools/${tool}`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as { result?: T; error?: { code: string; message: string } } };
  };
  const finished = (id: number) =>
    waitFor(`task #${id} to finish`, async () => {
      const shown = (await rest<Shown>('task_show', { id })).body.result!;
      return ['completed', 'failed', 'dead_letter'].includes(shown.task.status) ? shown : undefined;
    }, 60_000);

  beforeAll(async () => {
    writeFileSync(
      path.join(home, '.twlrc.json'),
      JSON.stringify({
        tasks: { retryDelay: '1s' },
        upstreams: [{ name: 'fx', transport: 'stdio', command: process.execPath, args: [fixture], tools: { include: ['read'] } }],
        workflows: [
          { name: 'inside', steps: [{ id: 'mood', kind: 'tool', tool: SENTIMENT, input: { text: 'all good now' } }] },
          { name: 'outside', steps: [{ id: 'read', kind: 'tool', tool: 'fx_read', input: { key: 'k' } }] },
        ],
      }),
    );
    serve = await startHttpServe(home);
    worker = await startWorker(home, 'grants-worker');
    key = await createApiKey(home, 'scheduler', 'manager', 'twl,workflow');
  });

  afterAll(async () => {
    worker?.child.kill('SIGTERM');
    await worker?.child.catch(() => undefined);
    await stopServe(serve);
    cleanup();
  });

  it('a step outside the key\'s namespaces fails the run once, with TWL_NAMESPACE_DENIED and an audit row; inside, it completes', async () => {
    const created = await rest<{ task: Shown['task'] }>('task_create', { workflow: 'outside', now: true, retries: 2 });
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    const id = created.body.result!.task.id;
    expect(created.body.result!.task.namespaces).toEqual(['twl', 'workflow']);

    const shown = await finished(id);
    expect(shown.task.status).toBe('failed');
    expect(shown.task.reason).toMatch(/^TWL_NAMESPACE_DENIED: Workflow outside \(run \d+\) failed at step read: No tool named "fx_read"/);
    expect(shown.executions).toHaveLength(1);
    expect(shown.executions[0]).toMatchObject({ status: 'failed', output: { error: { code: 'TWL_NAMESPACE_DENIED' } } });
    // The list shows the grant too, so an operator sees what each task may do.
    expect((await rest<{ tasks: Shown['task'][] }>('task_list', {})).body.result!.tasks.find((t) => t.id === id)?.namespaces).toEqual(['twl', 'workflow']);

    const audit = async () => {
      const r = await twl(['db', 'query', `select tool, via, decision, error_code from twl_tool_calls where actor = 'task:${id}' order by id`, '--json'], { home, timeout: 90_000 });
      expect(r.exitCode, r.stderr).toBe(0);
      return (envelope(r.stdout).result as { rows: unknown[] }).rows;
    };
    await expect.poll(audit, { timeout: 15_000, interval: 500 }).toEqual(
      expect.arrayContaining([{ tool: 'fx_read', via: 'workflow:outside', decision: 'refused', error_code: 'TWL_NAMESPACE_DENIED' }]),
    );

    const inside = await rest<{ task: Shown['task'] }>('task_create', { workflow: 'inside', now: true });
    expect((await finished(inside.body.result!.task.id)).task.status).toBe('completed');
  });

  it('a tool outside the key\'s namespaces is refused at creation, naming the grant', async () => {
    const refused = await rest('task_create', { tool: 'fx_read', input: { key: 'k' }, now: true });
    expect(refused.status).not.toBe(200);
    expect(refused.body.error).toMatchObject({ code: 'TWL_NAMESPACE_DENIED', message: 'No tool named "fx_read" in the namespaces this key is granted (twl, workflow).' });
  });
});
