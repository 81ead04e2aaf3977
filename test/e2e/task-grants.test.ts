import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey, envelope, root, startHttpServe, startWorker, stopServe, tempHome, twl, waitFor } from '../helpers.js';

/**
 * Over REST, with a real `twl worker` process (which never sees the key): a task created by a key
 * limited to namespaces keeps them, and its runs are held to them. A workflow whose step is
 * outside the grant fails as a tool that exists nowhere would (TWL_TOOL_UNKNOWN; the audit row says TWL_NAMESPACE_DENIED), after one attempt; one whose steps
 * are inside completes; a tool outside the grant is refused at creation. A key granted fewer
 * namespaces than a task cannot see it or act on it, over REST or MCP (tools and resources), and
 * its refusals are audited. A task whose creating key is revoked fails at its next run.
 */
const fixture = path.join(root, 'test', 'fixtures', 'upstream-server.ts');
const SENTIMENT = 'sentiment-analyzer_analyze_sentiment';

interface Shown {
  task: { id: number; status: string; reason: string | null; namespaces: string[] | null; createdByKey: number | null };
  executions: Array<{ attempt: number; status: string; error: string | null; output: unknown }>;
}

describe('task grants over REST with a real worker', () => {
  const { home, cleanup } = tempHome('twl-task-grants-');
  let serve: Awaited<ReturnType<typeof startHttpServe>>;
  let worker: Awaited<ReturnType<typeof startWorker>> | undefined;
  let key = '';
  /** A key granted only twl: narrower than the tasks `key` creates. */
  let narrow = '';
  const clients: Client[] = [];
  const rest = async <T>(tool: string, body: unknown, bearer = key) => {
    const res = await fetch(`${serve.url}/api/tools/${tool}`, { method: 'POST', headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
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
    narrow = await createApiKey(home, 'narrow', 'manager', 'twl');
  });

  afterAll(async () => {
    worker?.child.kill('SIGTERM');
    await worker?.child.catch(() => undefined);
    await stopServe(serve, clients);
    cleanup();
  });

  it('a step outside the key\'s namespaces fails the run once, said as an unknown tool, with a TWL_NAMESPACE_DENIED audit row; inside, it completes', async () => {
    const created = await rest<{ task: Shown['task'] }>('task_create', { workflow: 'outside', now: true, retries: 2 });
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    const id = created.body.result!.task.id;
    expect(created.body.result!.task.namespaces).toEqual(['twl', 'workflow']);

    const shown = await finished(id);
    expect(shown.task.status).toBe('failed');
    expect(shown.task.reason).toMatch(/^TWL_TOOL_UNKNOWN: Workflow outside \(run \d+\) failed at step read: No tool named "fx_read"\./);
    expect(shown.executions).toHaveLength(1);
    expect(shown.executions[0]).toMatchObject({ status: 'failed', output: { error: { code: 'TWL_TOOL_UNKNOWN' } } });
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

  it('a tool outside the key\'s namespaces is refused at creation, as a tool that exists nowhere', async () => {
    const refused = await rest('task_create', { tool: 'fx_read', input: { key: 'k' }, now: true });
    expect(refused.status).not.toBe(200);
    expect(refused.body.error).toMatchObject({ code: 'TWL_TOOL_UNKNOWN', message: 'No tool named "fx_read".' });
  });

  const query = async (sql: string) => {
    const r = await twl(['db', 'query', sql, '--json'], { home, timeout: 90_000 });
    expect(r.exitCode, r.stderr).toBe(0);
    return (envelope(r.stdout).result as { rows: unknown[] }).rows;
  };

  it('a key granted fewer namespaces than a task cannot see it nor act on it, over REST and MCP; refusals are audited', async () => {
    const created = await rest<{ task: Shown['task'] }>('task_create', { workflow: 'inside', now: true, draft: true });
    const id = created.body.result!.task.id;
    const hidden = `No task #${id} in the namespaces this key is granted (twl).`;

    // REST: an action is refused (403) as for a task that does not exist; a read says not found (404).
    const run = await rest('task_run', { id }, narrow);
    expect({ status: run.status, error: run.body.error }).toMatchObject({ status: 403, error: { code: 'TWL_NAMESPACE_DENIED', message: hidden } });
    const missing = await rest('task_resume', { id: id + 100_000 }, narrow);
    expect(missing.body.error).toMatchObject({ code: 'TWL_NAMESPACE_DENIED', message: `No task #${id + 100_000} in the namespaces this key is granted (twl).` });
    const shown = await rest('task_show', { id }, narrow);
    expect({ status: shown.status, error: shown.body.error }).toMatchObject({ status: 404, error: { code: 'TWL_TASK_NOT_FOUND', message: hidden } });
    const listed = await rest<{ tasks: Shown['task'][] }>('task_list', { limit: 1000 }, narrow);
    expect(listed.status).toBe(200);
    expect(listed.body.result!.tasks.map((t) => t.id)).not.toContain(id);

    // MCP: the same op behind the tool, and the task resources.
    const client = new Client({ name: 'task-grants', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${serve.url}/mcp`), { requestInit: { headers: { authorization: `Bearer ${narrow}` } } }));
    clients.push(client);
    const approve = await client.callTool({ name: 'task_approve', arguments: { id } });
    expect(approve.isError).toBe(true);
    expect(JSON.stringify(approve.content)).toContain('TWL_NAMESPACE_DENIED');
    const logs = await client.callTool({ name: 'task_logs', arguments: { id } });
    expect(logs.isError).toBe(true);
    expect(JSON.stringify(logs.content)).toContain('TWL_TASK_NOT_FOUND');
    await expect(client.readResource({ uri: `twl://tasks/${id}` })).rejects.toThrow(/not found/i);
    expect((await client.listResources()).resources.map((r) => r.uri)).not.toContain(`twl://tasks/${id}`);

    // Nothing moved, and the creating key still sees and runs it.
    expect((await rest<Shown>('task_show', { id })).body.result!.task.status).toBe('draft');
    await expect.poll(() => query("select tool, decision from twl_tool_calls where error_code = 'TWL_NAMESPACE_DENIED' and tool in ('task_run', 'task_resume', 'task_approve') order by id"), { timeout: 15_000, interval: 500 }).toEqual([
      { tool: 'task_run', decision: 'refused' },
      { tool: 'task_resume', decision: 'refused' },
      { tool: 'task_approve', decision: 'refused' },
    ]);
    await rest('task_resume', { id });
    expect((await finished(id)).task.status).toBe('completed');

    // The change feed (GET /api/events) too: from the start, the narrow key hears of its own task, never of the hidden one
    // (whose events all came before its own task was created).
    const own = await rest<{ task: Shown['task'] }>('task_create', { tool: SENTIMENT, input: { text: 'fine' }, now: true }, narrow);
    const ownId = own.body.result!.task.id;
    expect((await finished(ownId)).task.status).toBe('completed');
    const controller = new AbortController();
    const feed = await fetch(`${serve.url}/api/events?after=0&topics=task,execution`, { headers: { authorization: `Bearer ${narrow}` }, signal: controller.signal });
    expect(feed.status).toBe(200);
    const heard: Array<{ topic: string; subject: string; payload: { status?: string; task?: number } }> = [];
    const decoder = new TextDecoder();
    let buffered = '';
    for await (const chunk of feed.body as unknown as AsyncIterable<Uint8Array>) {
      const lines = (buffered + decoder.decode(chunk, { stream: true })).split('\n');
      // The last piece may be a partial line: it waits for the next chunk.
      buffered = lines.pop()!;
      for (const line of lines) if (line.startsWith('data: ')) heard.push(JSON.parse(line.slice(6)) as (typeof heard)[number]);
      if (heard.some((e) => e.topic === 'task' && e.subject === String(ownId) && e.payload.status === 'completed')) break;
    }
    controller.abort();
    expect(heard.some((e) => e.topic === 'execution' && e.payload.task === ownId)).toBe(true);
    expect(heard.filter((e) => (e.topic === 'task' && e.subject === String(id)) || e.payload.task === id)).toEqual([]);
  });

  it('a task whose key is revoked fails at its next run with TWL_KEY_REVOKED, not retried, and says why in `twl task show`', async () => {
    const doomed = await createApiKey(home, 'doomed', 'manager', 'twl,workflow');
    const created = await rest<{ task: Shown['task'] }>('task_create', { workflow: 'inside', cron: '0 * * * *', retries: 2 }, doomed);
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    const task = created.body.result!.task;
    expect(task).toMatchObject({ status: 'scheduled', createdByKey: expect.any(Number) });

    const revoked = await twl(['keys', 'revoke', String(task.createdByKey), '--json'], { home, timeout: 90_000 });
    expect(revoked.exitCode, revoked.stderr).toBe(0);
    // The command line runs it now (a cron tick would do the same, later).
    const ran = await twl(['task', 'run', String(task.id)], { home, timeout: 90_000 });
    expect(ran.exitCode, ran.stderr).toBe(0);

    const shown = await finished(task.id);
    expect(shown.task.status).toBe('failed');
    expect(shown.task.reason).toMatch(new RegExp(`^TWL_KEY_REVOKED: The API key #${task.createdByKey} that created task #${task.id} was revoked at .*: the task no longer runs\\. Its schedule was removed\\.$`));
    expect(shown.executions).toHaveLength(1);
    expect(shown.executions[0]).toMatchObject({ status: 'failed', output: { error: { code: 'TWL_KEY_REVOKED' } } });
    const text = await twl(['task', 'show', String(task.id)], { home, timeout: 90_000 });
    expect(text.exitCode, text.stderr).toBe(0);
    expect(text.stdout).toContain('status failed (TWL_KEY_REVOKED: ');
    expect(text.stdout).toContain(`(API key #${task.createdByKey}: its runs stop if it is revoked)`);
    await expect.poll(() => query(`select tool, via, decision, error_code from twl_tool_calls where actor = 'task:${task.id}'`), { timeout: 15_000, interval: 500 }).toEqual([
      { tool: 'workflow_inside', via: 'task', decision: 'refused', error_code: 'TWL_KEY_REVOKED' },
    ]);
  });
});
