import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { randomUUID } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa, type ResultPromise } from 'execa';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpSource } from '../../src/ui/http-source.js';
import { POSTGRES_URL, bin, envelope, followTaskLogs, hasPostgres, inheritedEnv, root, startHttpServe, tempHome, twl } from '../helpers.js';

/*
 * Real-time events end to end (issue #14, point 4): a task whose tool reports progress (the
 * fixture upstream's `ticks`) runs on a real `twl worker` process; `twl task logs --follow`, a
 * subscribed MCP client (a 2025 session with resources/subscribe, and a 2026-07-28 listen stream)
 * and `GET /api/events` all get its lines while it runs. On PostgreSQL (LISTEN/NOTIFY) and on the
 * embedded store (a poll by id). Then what /api/events refuses and how it ends streams.
 */

const fixture = path.join(root, 'test', 'fixtures', 'upstream-server.ts');
const TICKS = 6;
const TICK_MS = 200;

interface SseEvent {
  id: string;
  event: string;
  data: { id: number; topic: string; subject: string; kind: string; payload: Record<string, unknown> };
  at: number;
}

/** Opens GET /api/events and collects its events (with their arrival time) until stopped. */
function sse(url: string, key: string | undefined, headers: Record<string, string> = {}) {
  const controller = new AbortController();
  const events: SseEvent[] = [];
  const comments: string[] = [];
  let status = 0;
  let closed = false;
  const ready = (async () => {
    const res = await fetch(url, { headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), accept: 'text/event-stream', ...headers }, signal: controller.signal });
    status = res.status;
    if (!res.ok || !res.body) return res;
    void (async () => {
      const decoder = new TextDecoder();
      let buffer = '';
      try {
        for await (const chunk of res.body!) {
          buffer += decoder.decode(chunk as Uint8Array, { stream: true });
          let cut: number;
          while ((cut = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, cut);
            buffer = buffer.slice(cut + 2);
            const fields: Record<string, string> = {};
            for (const line of block.split('\n')) {
              if (line.startsWith(':')) comments.push(line.slice(1).trim());
              else {
                const i = line.indexOf(':');
                fields[line.slice(0, i)] = line.slice(i + 1).trimStart();
              }
            }
            // The shared PostgreSQL may hold events old enough for a retention pass to have deleted
            // them: a stream from after=0 then starts with `event: pruned` (test/e2e/retention.test.ts),
            // which these tests, about the events of their own tasks, leave aside.
            if (fields.data !== undefined && fields.event !== 'pruned') events.push({ id: fields.id ?? '', event: fields.event ?? 'message', data: JSON.parse(fields.data), at: Date.now() });
          }
        }
      } catch {
        // aborted
      }
      closed = true;
    })();
    return res;
  })();
  return {
    ready,
    events,
    comments,
    get status() {
      return status;
    },
    get closed() {
      return closed;
    },
    stop: () => controller.abort(),
  };
}

/**
 * A stream of GET /api/events that got its 200. A stream just closed holds its slot of the key's cap
 * until the server sees the close, so a new one may be refused (429) for a moment: asked again.
 */
async function opened(url: string, key: string | undefined, headers: Record<string, string> = {}) {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const stream = sse(url, key, headers);
    const { status } = await stream.ready;
    if (status === 200) return stream;
    stream.stop();
    if (status !== 429 || Date.now() > deadline) throw new Error(`GET ${url} answered ${status}`);
    await sleep(200);
  }
}

const backends = [
  { name: 'PostgreSQL', available: hasPostgres, pg: true },
  { name: 'the embedded store', available: true, pg: false },
];

describe.each(backends)('real-time events on $name', ({ available, pg: onPostgres }) => {
  const schema = `pgboss_ev${randomUUID().slice(0, 8)}`;
  const env: Record<string, string> = onPostgres ? { TWL_DATABASE_URL: POSTGRES_URL, TWL_TASKS_SCHEMA: schema } : {};
  let home: string;
  let cleanup: () => void;
  let server: Awaited<ReturnType<typeof startHttpServe>>;
  let worker: ResultPromise;
  const keys: Record<string, string> = {};
  const cli = (args: string[]) => twl(args, { home, env });

  beforeAll(async () => {
    if (!available) return;
    ({ home, cleanup } = tempHome('twl-events-'));
    writeFileSync(
      path.join(home, '.twlrc.json'),
      JSON.stringify({
        // pin: false: other test files configure an upstream fx with other tools on the shared PostgreSQL, and a pin would quarantine one of them.
        upstreams: [{ name: 'fx', transport: 'stdio', command: process.execPath, args: [fixture], pin: false }],
        http: { events: { heartbeat: 1, perKey: 2, buffer: 16_384 } },
        tasks: { retryDelay: '1s' },
      }),
    );
    for (const role of ['viewer', 'admin']) {
      const r = await cli(['keys', 'create', '--role', role, '--json']);
      expect(r.exitCode, r.stderr).toBe(0);
      keys[role] = String((envelope(r.stdout).result as { key: string }).key);
    }
    worker = execa(process.execPath, [bin, 'worker', '--name', 'events-worker', '--concurrency', '1', '--grace', '5s'], {
      cwd: home,
      env: { ...inheritedEnv(), TWL_HOME: home, HOME: home, NO_COLOR: '1', ...env },
      extendEnv: false,
      reject: false,
    });
    await new Promise<void>((resolve, reject) => {
      let err = '';
      worker.stderr!.on('data', (d: Buffer) => {
        err += d.toString();
        if (err.includes('takes runs from')) resolve();
      });
      void worker.then((r) => reject(new Error(`the worker exited (${r.exitCode}): ${err}`)));
    });
    server = await startHttpServe(home, [], env);
  });

  afterAll(async () => {
    if (!available) return;
    server?.child.kill('SIGTERM');
    worker?.kill('SIGTERM');
    await Promise.all([server?.child.catch(() => undefined), worker?.catch(() => undefined)]);
    if (onPostgres) {
      const client = new pg.Client({ connectionString: POSTGRES_URL });
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await client.end();
    }
    cleanup();
  });

  it.skipIf(!available)('a running task\'s progress lines reach `task logs --follow`, subscribed MCP clients and GET /api/events as they are produced', async () => {
    // Due in an hour: it runs when the test says (`task run`), once every follower is there. The run
    // holds after its first tick, and again before it answers, until the test lets it go.
    const holdAfterFirst = path.join(home, 'hold-first');
    const holdBeforeAnswer = path.join(home, 'hold-answer');
    writeFileSync(holdAfterFirst, '');
    writeFileSync(holdBeforeAnswer, '');
    const due = new Date(Date.now() + 3_600_000).toISOString();
    const created = await cli(['task', 'create', '--tool', 'fx_ticks', '--input', JSON.stringify({ count: TICKS, ms: TICK_MS, holdAfterFirst, holdBeforeAnswer }), '--at', due, '--json']);
    expect(created.exitCode, created.stderr).toBe(0);
    const id = (envelope(created.stdout).result as { task: { id: number } }).task.id;

    // 1. The CLI follower, once it says it follows.
    const follow = followTaskLogs(home, id, env);
    const printed = follow.printed;
    await follow.ready;
    // 2. GET /api/events for this task, with a viewer key.
    const stream = await opened(`${server.url}/api/events?task=${id}`, keys.viewer);
    // 3. A 2025 session subscribed to the task; it subscribes to the execution once it exists.
    const legacy = new Client({ name: 'events-test', version: '1' });
    const updates: Array<{ uri: string; at: number }> = [];
    legacy.setNotificationHandler('notifications/resources/updated', (n) => void updates.push({ uri: n.params.uri, at: Date.now() }));
    await legacy.connect(new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`), { requestInit: { headers: { authorization: `Bearer ${keys.viewer}` } } }));
    await legacy.subscribeResource({ uri: `twl://tasks/${id}` });
    // 4. A 2026-07-28 listen stream on the task.
    const modern = new Client({ name: 'events-test-2026', version: '1' }, { versionNegotiation: { mode: { pin: '2026-07-28' } } });
    const modernUpdates: string[] = [];
    modern.setNotificationHandler('notifications/resources/updated', (n) => void modernUpdates.push(n.params.uri));
    await modern.connect(new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`), { requestInit: { headers: { authorization: `Bearer ${keys.viewer}` } } }));
    const listening = await modern.listen({ resourceSubscriptions: [`twl://tasks/${id}`] });

    try {
      // Everyone is there: run it.
      const run = await cli(['task', 'run', String(id)]);
      expect(run.exitCode, run.stderr).toBe(0);
      // The execution appears when the worker starts the run: the task resource says so.
      await expect.poll(() => updates.some((u) => u.uri === `twl://tasks/${id}`), { timeout: 40_000, interval: 100 }).toBe(true);
      const execId = await (async () => {
        for (;;) {
          const shown = JSON.parse(String(((await legacy.readResource({ uri: `twl://tasks/${id}` })).contents[0] as { text: string }).text)) as { executions: Array<{ id: number }> };
          if (shown.executions[0]) return shown.executions[0].id;
          await sleep(100);
        }
      })();
      await legacy.subscribeResource({ uri: `twl://executions/${execId}` });
      const execUri = `twl://executions/${execId}`;

      // The first tick reaches the CLI and the stream while the run holds after it.
      const tick1 = (line: string) => /tick 1 of/.test(line);
      await expect.poll(() => printed.some((p) => tick1(p.line)), { timeout: 40_000, interval: 100 }).toBe(true);
      await expect.poll(() => stream.events.some((e) => e.event === 'execution.output' && tick1(String(e.data.payload.text))), { timeout: 40_000, interval: 100 }).toBe(true);
      const firstLetGo = Date.now();
      rmSync(holdAfterFirst);
      // The next ticks tell the subscribed execution's client while the run holds before answering.
      await expect.poll(() => updates.some((u) => u.uri === execUri), { timeout: 40_000, interval: 100 }).toBe(true);
      const answerLetGo = Date.now();
      rmSync(holdBeforeAnswer);

      const r = await follow.child;
      expect(r.exitCode, r.stderr).toBe(0);
      const shown = envelope((await cli(['task', 'show', String(id), '--json'])).stdout).result as { task: { status: string }; executions: Array<{ id: number; status: string; endedAt: string }> };
      expect(shown.task.status).toBe('completed');

      // Every tick, once, in order, and the first one while the run went on.
      const ticks = printed.filter((p) => /tick \d+ of \d+/.test(p.line));
      expect(ticks.map((t) => /tick (\d+) of/.exec(t.line)![1])).toEqual(Array.from({ length: TICKS }, (_, i) => String(i + 1)));
      expect(printed[0]!.line).toContain('attempt 1 of');
      expect(printed.at(-1)!.line).toMatch(/completed in \d+ ms/);
      expect(new Set(printed.map((p) => p.line)).size).toBe(printed.length);
      expect(ticks[0]!.at).toBeLessThan(firstLetGo);

      // The same lines on the SSE stream, while it ran, and the statuses around them.
      await expect.poll(() => stream.events.some((e) => e.data.topic === 'task' && e.data.payload.status === 'completed'), { timeout: 10_000 }).toBe(true);
      const lines = stream.events.filter((e) => e.event === 'execution.output');
      expect(lines.map((e) => e.data.payload.text)).toEqual(printed.map((p) => p.line.replace(/^\S+ \[\d+\] /, '')));
      expect(lines.every((e) => e.data.subject === String(execId))).toBe(true);
      expect(lines.find((e) => String(e.data.payload.text).includes('tick 1 of'))!.at).toBeLessThan(firstLetGo);
      expect(stream.events.map((e) => Number(e.id))).toEqual([...stream.events.map((e) => Number(e.id))].sort((a, b) => a - b));
      expect(stream.events.filter((e) => e.event === 'task.status').map((e) => e.data.payload.status)).toEqual(['queued', 'running', 'completed']);

      // The MCP clients heard of the execution while it ran, and reading it gives the lines.
      expect(updates.filter((u) => u.uri === execUri && u.at < answerLetGo).length).toBeGreaterThan(0);
      const read = JSON.parse(String(((await legacy.readResource({ uri: execUri })).contents[0] as { text: string }).text)) as { execution: { status: string }; lines: Array<{ line: string }>; omitted: number };
      expect(read.execution.status).toBe('completed');
      expect(read.lines.map((l) => l.line)).toEqual(lines.map((e) => e.data.payload.text));
      expect(read.omitted).toBe(0);
      await expect.poll(() => modernUpdates, { timeout: 10_000 }).toContain(`twl://tasks/${id}`);
      // Only what it listens to.
      expect(modernUpdates).not.toContain(execUri);
    } finally {
      rmSync(holdAfterFirst, { force: true });
      rmSync(holdBeforeAnswer, { force: true });
      follow.child.kill();
      stream.stop();
      await listening.close().catch(() => undefined);
      await legacy.close();
      await modern.close();
    }
  });

  it.skipIf(!available)('GET /api/events resumes after Last-Event-ID, sends heartbeats, and refuses what it cannot serve', async () => {
    const url = `${server.url}/api/events`;
    // No key: 401; a bad key too.
    expect((await fetch(url)).status).toBe(401);
    expect((await fetch(url, { headers: { authorization: 'Bearer twl_nope' } })).status).toBe(401);
    // Bad filters: 400 naming the problem.
    const bad = async (query: string, headers: Record<string, string> = {}) => {
      const r = await fetch(`${url}${query}`, { headers: { authorization: `Bearer ${keys.viewer}`, ...headers } });
      return { status: r.status, message: String(((await r.json()) as { error: { message: string } }).error.message) };
    };
    expect(await bad('?topics=task,tickets')).toEqual({ status: 400, message: expect.stringContaining('Unknown topic "tickets" in topics') });
    expect(await bad('?kinds=stdout')).toEqual({ status: 400, message: expect.stringContaining('Unknown kind "stdout"') });
    expect(await bad('?task=abc')).toEqual({ status: 400, message: expect.stringContaining('task must be a whole number') });
    expect(await bad('?task=0')).toEqual({ status: 400, message: expect.stringContaining('task must be a whole number from 1') });
    expect(await bad('?after=-1')).toEqual({ status: 400, message: expect.stringContaining('after must be a whole number') });
    expect(await bad('?topic=task')).toEqual({ status: 400, message: expect.stringContaining('Unknown query parameter "topic"') });
    expect(await bad('?task=1&task=2')).toEqual({ status: 400, message: expect.stringContaining('task is given more than once') });
    expect(await bad('?subject=7')).toEqual({ status: 400, message: expect.stringContaining('subject needs exactly one topic') });
    expect(await bad('', { 'last-event-id': '12abc' })).toEqual({ status: 400, message: expect.stringContaining('Last-Event-ID must be a whole number') });
    expect((await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${keys.viewer}` } })).status).toBe(405);

    // The dashboard over HTTP follows the same stream for its Tasks panel.
    const dash = new HttpSource(server.url, keys.viewer!);
    let dashChanges = 0;
    const stopDash = await dash.watchTasks(() => dashChanges++);
    // A finished task's events again, after the first one: resumed, not repeated.
    const created = await cli(['task', 'create', '--tool', 'fx_ticks', '--input', JSON.stringify({ count: 2, ms: 10 }), '--now', '--json']);
    const id = (envelope(created.stdout).result as { task: { id: number } }).task.id;
    await expect.poll(async () => (envelope((await cli(['task', 'show', String(id), '--json'])).stdout).result as { task: { status: string } }).task.status, { timeout: 40_000, interval: 300 }).toBe('completed');
    await expect.poll(() => dashChanges, { timeout: 10_000 }).toBeGreaterThan(0);
    const row = (await dash.tasks(5)).tasks.find((t) => t.id === id);
    expect(row).toMatchObject({ status: 'completed', what: 'fx_ticks', last: { status: 'completed', attempt: 1 } });
    await stopDash();
    await dash.close();
    // (The dashboard's stream just closed: its slot may take a moment to free.)
    const all = await opened(`${url}?task=${id}&after=0`, keys.viewer);
    await expect.poll(() => all.events.some((e) => e.data.payload.status === 'completed' && e.data.topic === 'task'), { timeout: 10_000 }).toBe(true);
    // Heartbeats every second (http.events.heartbeat: 1).
    await expect.poll(() => all.comments.includes('ping'), { timeout: 5000 }).toBe(true);
    all.stop();
    const first = all.events[0]!;
    const resumed = await opened(`${url}?task=${id}&after=0`, keys.viewer, { 'last-event-id': first.id });
    await expect.poll(() => resumed.events.length, { timeout: 10_000 }).toBe(all.events.length - 1);
    expect(resumed.events.map((e) => e.id)).toEqual(all.events.slice(1).map((e) => e.id));
    // Only the lines: kinds=output.
    // Open beside resumed: the slot the stopped stream held is free (asked again until it is).
    const onlyLines = await opened(`${url}?task=${id}&after=0&kinds=output&topics=execution`, keys.viewer);
    await expect.poll(() => onlyLines.events.length, { timeout: 10_000 }).toBe(all.events.filter((e) => e.event === 'execution.output').length);

    // The per-key cap (2): resumed and onlyLines are open; a third is refused, another key is not.
    const third = await fetch(url, { headers: { authorization: `Bearer ${keys.viewer}` } });
    expect(third.status).toBe(429);
    expect(((await third.json()) as { error: { message: string } }).error.message).toContain('http.events.perKey is 2');
    const admin = await opened(url, keys.admin);
    // A closed stream frees its slot.
    resumed.stop();
    await expect.poll(async () => {
      const r = sse(url, keys.viewer);
      const status = (await r.ready).status;
      r.stop();
      return status;
    }, { timeout: 10_000, interval: 200 }).toBe(200);
    onlyLines.stop();
    admin.stop();
  });

  it.skipIf(!available || !onPostgres)('drops a client that never reads once http.events.buffer bytes wait for it, and frees its slot', async () => {
    // A raw socket that sends the request, reads the answer's head (its stream holds a slot then), and never reads more.
    const { hostname, port } = new URL(server.url);
    const rawStream = async () => {
      const deadline = Date.now() + 20_000;
      for (;;) {
        const raw = net.connect(Number(port), hostname);
        raw.on('error', () => undefined);
        const head = await new Promise<string>((resolve, reject) => {
          let got = '';
          const onData = (d: Buffer) => {
            got += d.toString('latin1');
            if (!got.includes('\r\n\r\n')) return;
            raw.off('data', onData);
            raw.pause();
            resolve(got);
          };
          raw.on('data', onData);
          raw.once('close', () => reject(new Error(`the connection closed after: ${JSON.stringify(got)}`)));
          raw.once('connect', () => raw.write(`GET /api/events HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: Bearer ${keys.admin}\r\n\r\n`));
        });
        if (head.startsWith('HTTP/1.1 200')) {
          expect(head.toLowerCase()).toContain('content-type: text/event-stream');
          return raw;
        }
        // The previous test's admin streams may still hold their slots for a moment.
        raw.destroy();
        if (!head.startsWith('HTTP/1.1 429') || Date.now() > deadline) throw new Error(`GET /api/events answered ${head.split('\r\n')[0]}`);
        await sleep(200);
      }
    };
    const socket = await rawStream();
    let socketClosed = false;
    socket.on('close', () => (socketClosed = true));
    // With a second stream the admin key is at its cap.
    const other = await opened(`${server.url}/api/events?topics=agent`, keys.admin);
    const capped = await fetch(`${server.url}/api/events`, { headers: { authorization: `Bearer ${keys.admin}` } });
    expect(capped.status).toBe(429);
    // Lots of large output lines (the trigger on twl_task_output writes the events), far past what the kernel buffers.
    const created = await cli(['task', 'create', '--tool', 'fx_ticks', '--input', '{"count":1,"ms":1}', '--at', new Date(Date.now() + 3_600_000).toISOString(), '--json']);
    const taskId = (envelope(created.stdout).result as { task: { id: number } }).task.id;
    const db = new pg.Client({ connectionString: POSTGRES_URL });
    await db.connect();
    try {
      const exec = await db.query<{ id: string }>("INSERT INTO twl_task_executions (task_id, job_id, attempt, worker) VALUES ($1, $2, 1, 'test') RETURNING id", [taskId, `slow-client-${randomUUID()}`]);
      for (let i = 0; i < 20 && !socketClosed; i++) {
        await db.query("INSERT INTO twl_task_output (execution_id, line) SELECT $1, repeat('x', 4000) || g FROM generate_series(1, 500) g", [exec.rows[0]!.id]);
        await sleep(200);
      }
      // The server gave up on it: its slot is free again (the other stream still holds one).
      await expect.poll(async () => {
        const r = sse(`${server.url}/api/events?topics=agent`, keys.admin);
        const status = (await r.ready).status;
        r.stop();
        return status;
      }, { timeout: 20_000, interval: 300 }).toBe(200);
      // The shared test database keeps none of the 2 MB lines.
      await db.query("DELETE FROM twl_events WHERE topic = 'execution' AND subject = $1", [exec.rows[0]!.id]);
      await db.query('DELETE FROM twl_task_output WHERE execution_id = $1', [exec.rows[0]!.id]);
      await db.query("UPDATE twl_task_executions SET status = 'failed', ended_at = now() WHERE id = $1", [exec.rows[0]!.id]);
    } finally {
      await db.end();
      other.stop();
      socket.destroy();
    }
  });

  it.skipIf(!available)('ends open streams with `event: close` when the server drains', async () => {
    // (The streams the tests before closed may hold the admin key's slots for a moment.)
    const stream = await opened(`${server.url}/api/events`, keys.admin);
    server.child.kill('SIGTERM');
    await expect.poll(() => stream.closed, { timeout: 15_000 }).toBe(true);
    expect(stream.events.at(-1)).toMatchObject({ event: 'close', data: { reason: 'draining' } });
    const r = await server.child;
    expect(r.exitCode).toBe(0);
  });
});
