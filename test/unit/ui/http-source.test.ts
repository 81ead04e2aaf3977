import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Ticket, TicketEvent } from '../../../src/agents/tickets/repo.js';
import { isTwlError } from '../../../src/runtime/errors.js';
import { HttpSource, displayUrl } from '../../../src/ui/http-source.js';
import { takeSnapshot } from '../../../src/ui/snapshot.js';
import { emptyGroup } from '../../../src/ui/source.js';
import { ticket } from './fake-source.js';

const KEY = `twl_${'k'.repeat(43)}`;
const VIEWER_ONLY = new Set(['real-resolver_resolve_ticket', 'tickets_create_ticket']);

const event = (id: number, kind: string): TicketEvent => ({ id, at: new Date(Date.parse('2026-03-01T10:00:00Z') + id * 1000).toISOString(), actor: 'cli:test', kind, step: null, status: 'ok', input: null, output: null, decision: null, durationMs: null });

/** A stand-in for `twl serve --http`'s REST face: the same routes, statuses and error bodies, over a few tickets. */
class FakeServer {
  tickets: Ticket[] = [ticket(1, { priority: 'low' }), ticket(2, { priority: 'urgent', status: 'in_progress', assignedAgent: 'real-resolver' }), ticket(3, { status: 'resolved' })];
  timelines = new Map<number, TicketEvent[]>([
    [1, [event(1, 'created')]],
    [2, [event(2, 'created'), event(4, 'status')]],
    [3, [event(3, 'created'), event(5, 'resolved')]],
  ]);
  calls: Array<{ tool: string; input: Record<string, unknown> }> = [];
  authorizations = new Set<string>();
  withActivity = true;
  /** GET /api/events streams that follow (their 200 sent), and how long one takes to start following. */
  streams = new Set<http.ServerResponse>();
  followDelayMs = 0;
  server = http.createServer((req, res) => void this.handle(req, res));

  /** An event written to the streams that follow, as the server's change feed would send it. */
  emit(id: number, event: string) {
    for (const res of this.streams) res.write(`id: ${id}\nevent: ${event}\ndata: {}\n\n`);
  }
  url = '';

  async start() {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  private send(res: http.ServerResponse, status: number, body: unknown) {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  }

  private list(input: Record<string, unknown>) {
    const statuses = input.status as string[] | undefined;
    let rows = this.tickets.filter((t) => !statuses || statuses.includes(t.status));
    if (input.sort === 'updated') rows = [...rows].sort((a, b) => b.updatedAt.localeCompare(a.updatedAt) || b.id - a.id);
    const offset = Number(input.offset ?? 0);
    return { tickets: rows.slice(offset, offset + Number(input.limit ?? 50)), total: rows.length };
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse) {
    this.authorizations.add(String(req.headers.authorization));
    if (req.headers.authorization !== `Bearer ${KEY}`) {
      return this.send(res, 401, { error: { code: 'TWL_AUTH_REQUIRED', message: 'An API key is required: Authorization: Bearer <key>.' } });
    }
    if (req.url === '/mcp/status') return this.send(res, 200, { version: 'test', tools: 3 });
    if (req.url?.startsWith('/api/events?')) {
      // As twl serve: the 200 once the stream follows the change feed, which takes its time here.
      await new Promise((r) => setTimeout(r, this.followDelayMs));
      if (res.destroyed) return;
      res.writeHead(200, { 'content-type': 'text/event-stream' }).write(': twl events\n\n');
      this.streams.add(res);
      res.on('close', () => this.streams.delete(res));
      return;
    }
    const tool = decodeURIComponent(req.url!.slice('/api/tools/'.length));
    let raw = '';
    for await (const c of req) raw += String(c);
    const input = (raw ? JSON.parse(raw) : {}) as Record<string, unknown>;
    this.calls.push({ tool, input });
    if (VIEWER_ONLY.has(tool)) return this.send(res, 403, { error: { code: 'HTTP_403', message: `The tool ${tool} needs the operator role; this key is viewer.` } });
    if (tool === 'tickets_list_tickets') return this.send(res, 200, { result: this.list(input) });
    if (tool === 'tickets_get_ticket') {
      const t = this.tickets.find((x) => x.id === input.id);
      if (!t) return this.send(res, 404, { error: { code: 'TWL_TICKET_NOT_FOUND', message: `No ticket #${String(input.id)}.`, actions: ['Run `twl ticket list` to see the tickets.'] } });
      return this.send(res, 200, { result: { ticket: t, timeline: this.timelines.get(t.id) ?? [] } });
    }
    if (tool === 'dash_get_activity' && this.withActivity) return this.send(res, 200, { result: { at: new Date().toISOString(), windowMinutes: 15, all: { ...emptyGroup('all'), calls: 4 }, groups: [{ ...emptyGroup('tickets'), calls: 4 }] } });
    if (tool === 'monitoring_health_check') return this.send(res, 200, { result: { status: 'ok', checkedAt: new Date().toISOString(), services: [], dependencies: [{ name: 'twl-store', kind: 'store', target: 'x', status: 'ok', latencyMs: 1, detail: 'ok' }] } });
    if (tool === 'maestro_list_agents') {
      return this.send(res, 200, { result: { llm: { configured: false, host: null, model: null, reachable: false, detail: 'no LLM' }, agents: [{ name: 'tickets', capabilities: 'x', tools: ['tickets_list_tickets', 'tickets_get_ticket'], status: 'ready', detail: 'ready' }] } });
    }
    return this.send(res, 404, { error: { code: 'HTTP_404', message: `No tool named ${tool}; GET /api/tools lists them.` } });
  }
}

const failure = async (p: Promise<unknown>) => {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isTwlError(err)) throw new Error(`expected a TwlError, got ${String(err)}`);
  return err;
};

describe('the HTTP source (twl dash --url)', () => {
  const fake = new FakeServer();
  let source: HttpSource;
  beforeAll(async () => {
    await fake.start();
    source = new HttpSource(`${fake.url}/`, KEY, { pollMs: 50, countsMs: 0 });
  });
  afterAll(async () => {
    await source.close();
    fake.server.close();
  });

  it('reads the ticket page with the counts by status and agent, sending the key as a bearer token', async () => {
    const page = await source.tickets({ scope: 'open', offset: 0, limit: 10 });
    expect(page.tickets.map((t) => t.id)).toEqual([1, 2]);
    expect(page.total).toBe(2);
    expect(page.byStatus).toEqual({ new: 1, in_progress: 1, resolved: 1 });
    expect(page.byAgent).toEqual({ 'real-resolver': 1 });
    expect(fake.calls.find((c) => c.tool === 'tickets_list_tickets' && c.input.sort === 'priority')?.input).toMatchObject({ status: expect.arrayContaining(['new', 'in_progress']), limit: 10, offset: 0 });
    expect([...fake.authorizations]).toEqual([`Bearer ${KEY}`]);
    expect(source.description).toBe(`twl serve --http at ${fake.url}`);
    expect(displayUrl('http://u:pw@example.com:30080/twl/?x=1')).toBe('http://example.com:30080/twl');
  });

  it('reads the detail, the activity, health and agents through their tools, and a snapshot of it all', async () => {
    expect((await source.ticket(2)).timeline.map((e) => e.id)).toEqual([2, 4]);
    expect((await source.metrics()).all.calls).toBe(4);
    expect((await source.health()).dependencies[0]).toMatchObject({ name: 'twl-store', status: 'ok' });
    expect(await source.agents()).toMatchObject({ llm: { configured: false }, agents: [{ name: 'tickets', tools: 2, status: 'ready' }] });
    const snap = await takeSnapshot(source, { limit: 5 });
    expect(snap).toMatchObject({ source: `twl serve --http at ${fake.url}`, tickets: { open: 2, total: 3 }, errors: {} });
    expect(snap.events.map((e) => e.id)).toEqual([1, 2, 3, 4, 5]);
  });

  it('builds the event log from the timelines of the tickets that changed, after the last id seen', async () => {
    const first = await source.events(undefined, 50);
    expect(first.map((e) => [e.id, e.ticketId])).toEqual([[1, 1], [2, 2], [3, 3], [4, 2], [5, 3]]);
    fake.tickets[0] = { ...fake.tickets[0]!, status: 'triaged', updatedAt: new Date().toISOString() };
    fake.timelines.get(1)!.push(event(6, 'triaged'));
    const next = await source.events(5, 50);
    expect(next.map((e) => [e.id, e.kind, e.title])).toEqual([[6, 'triaged', 'Ticket 1']]);
  });

  it('sees a new ticket within a second through its poll, and stops polling when unsubscribed', async () => {
    let changes = 0;
    const stop = await source.watch(() => changes++);
    const created = Date.now();
    fake.tickets.push(ticket(4, { title: 'Fire', updatedAt: new Date().toISOString() }));
    while (!changes && Date.now() - created < 2000) await new Promise((r) => setTimeout(r, 10));
    expect(changes).toBe(1);
    expect(Date.now() - created).toBeLessThan(1000);
    await stop();
    const polls = fake.calls.length;
    await new Promise((r) => setTimeout(r, 200));
    expect(fake.calls.length).toBe(polls);
  });

  it('tells of a task status change made as soon as watchTasks resolves, however slowly the stream starts to follow', async () => {
    fake.followDelayMs = 500;
    let changes = 0;
    const stop = await source.watchTasks(() => changes++);
    try {
      fake.emit(1, 'task.status');
      await expect.poll(() => changes, { timeout: 30_000 }).toBeGreaterThan(0);
    } finally {
      await stop();
      fake.followDelayMs = 0;
    }
    await expect.poll(() => fake.streams.size, { timeout: 30_000 }).toBe(0);
  });

  it('explains a refused action (403) without failing the rest', async () => {
    const err = await failure(source.resolve(1, { ask: async () => undefined }));
    expect(err.code).toBe('TWL_ROLE_DENIED');
    expect(err.message).toMatch(/real-resolver_resolve_ticket needs the operator role; this key is viewer/);
    expect(err.actions.join(' ')).toMatch(/--role operator/);
    expect((await failure(source.create('Printer on fire', { ask: async () => undefined }))).code).toBe('TWL_ROLE_DENIED');
    expect((await source.tickets({ scope: 'all', offset: 0, limit: 1 })).total).toBe(4);
  });

  it("passes the server's own errors on, and names a tool the server does not have", async () => {
    const missing = await failure(source.ticket(99));
    expect(missing.code).toBe('TWL_TICKET_NOT_FOUND');
    expect(missing.actions).toEqual(['Run `twl ticket list` to see the tickets.']);
    fake.withActivity = false;
    const old = await failure(source.metrics());
    expect(old.code).toBe('TWL_TOOL_MISSING');
    expect(old.message).toMatch(/has no dash_get_activity: its twl is older/);
    fake.withActivity = true;
  });

  it('says to create a key on a 401, and never repeats the key', async () => {
    const wrong = `twl_${'w'.repeat(43)}`;
    const bad = new HttpSource(fake.url, wrong);
    const err = await failure(bad.check());
    await bad.close();
    expect(err.code).toBe('TWL_AUTH_REQUIRED');
    expect(err.message).toMatch(/refused the API key \(401\)/);
    expect(err.actions.join(' ')).toMatch(/twl keys create --role viewer/);
    expect(JSON.stringify(err.toJSON())).not.toContain(wrong);
  });

  it('says when nothing answers at the URL, and refuses what is not an http URL', async () => {
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const away = new HttpSource(`http://127.0.0.1:${port}`, KEY);
    const err = await failure(away.check());
    await away.close();
    expect(err.exitCode).toBe(6);
    expect(err.message).toBe(`Cannot reach twl serve --http at http://127.0.0.1:${port}: nothing listens there.`);
    expect(() => new HttpSource('ftp://example.com', KEY)).toThrow(/http:\/\/ or https:\/\//);
    expect(() => new HttpSource('not a url', KEY)).toThrow(/is not a URL/);
  });
});
