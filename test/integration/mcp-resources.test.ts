import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { InMemoryServerEventBus, McpServer } from '@modelcontextprotocol/server';
import { ResourceUpdatedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { grantedBus } from '../../src/mcp/change-feed.js';
import { registerPrompts } from '../../src/mcp/prompts.js';
import { registerResources } from '../../src/mcp/resources.js';
import { ticketWatch } from '../../src/mcp/ticket-watch.js';
import { eventFollower } from '../../src/studio/events.js';
import { appendOutput, finishRun, insertTask, startExecution } from '../../src/studio/tasks.js';
import { invoke } from '../../src/ops/invoke.js';
import closeOp from '../../src/ops/ticket/close.js';
import commentOp from '../../src/ops/ticket/comment.js';
import createOp from '../../src/ops/ticket/create.js';
import type { Runtime } from '../../src/runtime/context.js';
import { tempHome, testRuntime } from '../helpers.js';
import { runtimeBackends, unique } from './backends.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** The JSON body of a resource read. */
const body = (r: Awaited<ReturnType<Client['readResource']>>) => {
  const c = r.contents[0]!;
  if (!('text' in c)) throw new Error('expected a text resource');
  return JSON.parse(c.text);
};

describe.each(runtimeBackends)('MCP resources and prompts on $name', ({ name, available, db }) => {
  let runtime: Runtime;
  let cleanup: () => void;
  let client: Client;
  let resources: { close(): void };
  let ticket: { id: number; text: string; title: string };
  const updates: Array<{ uri: string; at: number }> = [];
  const text = `${unique('disk')}: le disque /var du serveur de facturation est plein depuis 8h, les exports échouent.`;

  /** Resolves with the ms it took for a resources/updated on `uri` to arrive after `since`, or rejects after `timeoutMs` (a bound for a hang: the watcher polls about once a second, much later on a loaded machine). */
  const updated = async (uri: string, since: number, timeoutMs = 60_000) => {
    const deadline = since + timeoutMs;
    while (Date.now() < deadline) {
      const hit = updates.find((u) => u.uri === uri && u.at >= since);
      if (hit) return hit.at - since;
      await sleep(25);
    }
    throw new Error(`no notifications/resources/updated for ${uri} within ${timeoutMs} ms (got: ${JSON.stringify(updates.filter((u) => u.at >= since).map((u) => u.uri))})`);
  };

  beforeAll(async () => {
    if (!available) return;
    const t = tempHome();
    cleanup = t.cleanup;
    runtime = testRuntime(t.home, { database: db });
    ticket = await invoke(createOp, runtime, { text, requester: 'compta@example.com' });
    const server = new McpServer({ name: 'twl-test', version: '0' });
    resources = registerResources(server, runtime);
    registerPrompts(server, runtime);
    const [clientTransport, serverTransport] = InMemoryTransport.createLinkedPair();
    client = new Client({ name: 'mcp-resources-test', version: '0' });
    client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => void updates.push({ uri: n.params.uri, at: Date.now() }));
    await server.connect(serverTransport);
    await client.connect(clientTransport);
  });
  afterAll(async () => {
    if (!available) return;
    await client.close();
    resources.close();
    await runtime.close();
    cleanup();
  });

  it.skipIf(!available)('declares resources with subscribe and listChanged, prompts and completions', () => {
    expect(client.getServerCapabilities()).toMatchObject({ resources: { subscribe: true, listChanged: true }, prompts: {}, completions: {} });
  });

  it.skipIf(!available)('lists the four resources and the recent tickets', async () => {
    const { resources: listed } = await client.listResources();
    const uris = listed.map((r) => r.uri);
    expect(uris).toEqual(expect.arrayContaining(['twl://tickets', 'twl://audit', 'twl://health', `twl://tickets/${ticket.id}`]));
    expect(listed.find((r) => r.uri === `twl://tickets/${ticket.id}`)).toMatchObject({ name: `ticket-${ticket.id}`, title: `#${ticket.id} ${ticket.title}`, mimeType: 'application/json' });
    for (const r of listed) expect(r.mimeType).toBe('application/json');
    const { resourceTemplates } = await client.listResourceTemplates();
    expect(resourceTemplates).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: 'ticket', uriTemplate: 'twl://tickets/{id}', mimeType: 'application/json' }),
        expect.objectContaining({ name: 'task', uriTemplate: 'twl://tasks/{id}', mimeType: 'application/json' }),
        expect.objectContaining({ name: 'execution', uriTemplate: 'twl://executions/{id}', mimeType: 'application/json' }),
      ]),
    );
    for (const t of resourceTemplates) expect(t.mimeType).toBe('application/json');
  });

  it.skipIf(!available)('reads a ticket with its timeline', async () => {
    const { contents } = await client.readResource({ uri: `twl://tickets/${ticket.id}` });
    expect(contents).toHaveLength(1);
    expect(contents[0]).toMatchObject({ uri: `twl://tickets/${ticket.id}`, mimeType: 'application/json' });
    const read = body({ contents });
    expect(read.ticket).toMatchObject({ id: ticket.id, text, requester: 'compta@example.com', status: 'new' });
    expect(read.timeline[0]).toMatchObject({ kind: 'created', actor: 'test' });
  });

  it.skipIf(!available)('reads the open tickets, the audit log and the health report', async () => {
    const list = body(await client.readResource({ uri: 'twl://tickets' }));
    expect(list.total).toBeGreaterThanOrEqual(1);
    for (const t of list.tickets) expect(['resolved', 'closed']).not.toContain(t.status);
    // A shared PostgreSQL may hold more open tickets than the resource lists.
    if (list.total <= list.tickets.length) expect(list.tickets.map((t: { id: number }) => t.id)).toContain(ticket.id);

    const audit = body(await client.readResource({ uri: 'twl://audit' }));
    expect(Array.isArray(audit.entries)).toBe(true);

    const health = body(await client.readResource({ uri: 'twl://health' }));
    expect(['ok', 'degraded', 'down']).toContain(health.status);
    expect(health.dependencies.map((d: { name: string }) => d.name)).toEqual(expect.arrayContaining([expect.stringMatching(/store/)]));
  });

  it.skipIf(!available)('answers "resource not found" for a ticket that does not exist', async () => {
    await expect(client.readResource({ uri: 'twl://tickets/999999999' })).rejects.toMatchObject({ code: -32602, message: expect.stringMatching(/No ticket #999999999/) });
    await expect(client.subscribeResource({ uri: 'twl://tickets/999999999' })).rejects.toMatchObject({ code: -32602 });
    await expect(client.subscribeResource({ uri: 'twl://health' })).rejects.toMatchObject({ message: expect.stringMatching(/no change feed/) });
    // A URI twl does not serve is accepted and never fires (the protocol does not ask servers to refuse it).
    await expect(client.subscribeResource({ uri: 'test://elsewhere' })).resolves.toEqual({});
  });

  it.skipIf(!available)('serves tasks and executions (with their lines), notifies their subscribers from the change feed, and refuses what does not exist', async () => {
    await expect(client.readResource({ uri: 'twl://executions/999999999' })).rejects.toMatchObject({ code: -32602, message: expect.stringMatching(/no execution #999999999/i) });
    await expect(client.readResource({ uri: 'twl://tasks/999999999' })).rejects.toMatchObject({ code: -32602, message: expect.stringMatching(/no task #999999999/i) });
    await expect(client.subscribeResource({ uri: 'twl://tasks/999999999' })).rejects.toMatchObject({ code: -32602 });
    await expect(client.readResource({ uri: 'twl://tasks/abc' })).rejects.toMatchObject({ code: -32602 });
    const store = await runtime.store();
    const task = await insertTask(store, { kind: 'tool', tool: 'cache_cache_get', input: { key: 'k' }, queue: 'default', trigger: 'now', retries: 0, timeoutMs: 1000, needsApproval: false, createdBy: 'test', status: 'pending' });
    const exec = await startExecution(store, { taskId: task.id, jobId: `resources-${Date.now()}-${Math.random()}`, attempt: 1, worker: 'w' });
    const taskUri = `twl://tasks/${task.id}`;
    const execUri = `twl://executions/${exec.id}`;
    await client.subscribeResource({ uri: taskUri });
    await client.subscribeResource({ uri: execUri });
    let since = Date.now();
    await appendOutput(store, exec.id, ['first line']);
    await updated(execUri, since);
    since = Date.now();
    await finishRun(store, { taskId: task.id, executionId: exec.id, lines: [], status: 'completed', toolCalls: [] });
    // An execution's status is its task's news too.
    await updated(taskUri, since);
    const read = body(await client.readResource({ uri: execUri }));
    expect(read).toMatchObject({ execution: { id: exec.id, taskId: task.id, status: 'completed' }, lines: [{ line: 'first line' }], omitted: 0 });
    expect(body(await client.readResource({ uri: taskUri }))).toMatchObject({ task: { id: task.id }, executions: [{ id: exec.id }] });
    await client.unsubscribeResource({ uri: execUri });
    await client.unsubscribeResource({ uri: taskUri });
    since = Date.now();
    await appendOutput(store, exec.id, ['after unsubscribe']);
    await sleep(1500);
    expect(updates.filter((u) => u.at >= since && u.uri === execUri)).toEqual([]);
    expect(eventFollower(runtime).active).toBe(false);
  });

  it.skipIf(!available)('notifies a subscriber when the ticket changes, and stops after unsubscribe', async () => {
    const uri = `twl://tickets/${ticket.id}`;
    const watch = ticketWatch(runtime);
    expect(watch.active).toBe(false);
    await client.subscribeResource({ uri });
    expect(watch.active).toBe(true);

    // A new timeline step (the ticket row itself is not touched).
    let since = Date.now();
    await invoke(commentOp, runtime, { id: ticket.id, text: 'Looking at it.' });
    await updated(uri, since);

    // A change to the ticket row without a timeline step.
    await sleep(50);
    since = Date.now();
    await (await runtime.store()).query("UPDATE twl_tickets SET priority = 'high', updated_at = now() WHERE id = $1", [ticket.id]);
    await updated(uri, since);

    // Nothing changed: no notification (after letting any late one for the change above arrive:
    // on a loaded machine a poll can run a second or two behind).
    await sleep(2500);
    since = Date.now();
    await sleep(1500);
    expect(updates.filter((u) => u.uri === uri && u.at >= since)).toEqual([]);

    await client.unsubscribeResource({ uri });
    expect(watch.active).toBe(false);
    since = Date.now();
    await invoke(commentOp, runtime, { id: ticket.id, text: 'Still looking.' });
    await sleep(2500);
    expect(updates.filter((u) => u.uri === uri && u.at >= since)).toEqual([]);
  });

  it.skipIf(!available)('notifies a subscriber of the ticket list when a ticket is created or closed', async () => {
    // A subscription left by a failed test above would keep the watcher on: start clean.
    await client.unsubscribeResource({ uri: `twl://tickets/${ticket.id}` });
    await client.subscribeResource({ uri: 'twl://tickets' });
    let since = Date.now();
    const other = await invoke(createOp, runtime, { text: `${unique('vpn')}: VPN down for the whole sales team.` });
    await updated('twl://tickets', since);
    await sleep(50);
    since = Date.now();
    await invoke(closeOp, runtime, { id: other.id, note: 'duplicate' });
    await updated('twl://tickets', since);
    await client.unsubscribeResource({ uri: 'twl://tickets' });
    expect(ticketWatch(runtime).active).toBe(false);
  });

  // The audit log is append-only: the row is written only to this test's own embedded store, not to a shared PostgreSQL.
  it.skipIf(!available || name !== 'embedded')('notifies a subscriber of the audit log when an entry is added', async () => {
    await client.subscribeResource({ uri: 'twl://audit' });
    const since = Date.now();
    await (await runtime.store()).query(
      "INSERT INTO twl_audit (actor, program, args, decision, rule, outcome, ticket_id) VALUES ('test', 'df', '[\"-h\"]'::jsonb, 'allow', 'test', 'ran', $1)",
      [ticket.id],
    );
    await updated('twl://audit', since);
    await client.unsubscribeResource({ uri: 'twl://audit' });
    expect(ticketWatch(runtime).active).toBe(false);
    const incident = await client.getPrompt({ name: 'summarise_incident', arguments: { ticket_id: String(ticket.id) } });
    expect((incident.messages[0]!.content as { text: string }).text).toMatch(/test · `df -h` · allow by rule test → ran/);
  });

  it.skipIf(!available)('lists the three prompts with their ticket_id argument', async () => {
    const { prompts } = await client.listPrompts();
    expect(prompts.map((p) => p.name).sort()).toEqual(['summarise_incident', 'triage_ticket', 'write_postmortem']);
    for (const p of prompts) expect(p.arguments).toEqual([expect.objectContaining({ name: 'ticket_id', required: true })]);
  });

  it.skipIf(!available)('builds the prompts from the ticket and its timeline', async () => {
    const textOf = (r: Awaited<ReturnType<Client['getPrompt']>>) => r.messages.map((m) => (m.content.type === 'text' ? m.content.text : '')).join('\n');

    const triage = await client.getPrompt({ name: 'triage_ticket', arguments: { ticket_id: String(ticket.id) } });
    expect(triage.messages[0]!.role).toBe('user');
    const t = textOf(triage);
    expect(t).toContain(text);
    expect(t).toContain('- priority: high'); // set by the direct UPDATE above
    expect(t).toContain('storage: disk full');
    expect(t).toContain('urgent: production outage');

    const incident = textOf(await client.getPrompt({ name: 'summarise_incident', arguments: { ticket_id: String(ticket.id) } }));
    expect(incident).toContain(text);
    expect(incident).toMatch(/test · comment · ok: Looking at it\./);
    expect(incident).toContain('## Findings');

    const pm = textOf(await client.getPrompt({ name: 'write_postmortem', arguments: { ticket_id: String(ticket.id) } }));
    expect(pm).toContain(`# Post-mortem: ${ticket.title} (ticket #${ticket.id})`);
    expect(pm).toContain(text);
    expect(pm).toMatch(/## Root cause\n«TO FILL: /);
    expect(pm).toContain('Looking at it.');

    await expect(client.getPrompt({ name: 'triage_ticket', arguments: { ticket_id: '999999999' } })).rejects.toMatchObject({ message: expect.stringMatching(/No ticket #999999999/) });
    await expect(client.getPrompt({ name: 'triage_ticket', arguments: { ticket_id: 'abc' } })).rejects.toMatchObject({ message: expect.stringMatching(/ticket number/) });
  });

  it.skipIf(!available)('completes ticket numbers for the prompts and the ticket template', async () => {
    const prompt = await client.complete({ ref: { type: 'ref/prompt', name: 'triage_ticket' }, argument: { name: 'ticket_id', value: String(ticket.id) } });
    expect(prompt.completion.values).toContain(String(ticket.id));
    const template = await client.complete({ ref: { type: 'ref/resource', uri: 'twl://tickets/{id}' }, argument: { name: 'id', value: String(ticket.id) } });
    expect(template.completion.values).toContain(String(ticket.id));
  });

  it.skipIf(!available)('a server built for a grant without twl registers no prompt and completes no ticket or agent, asking the store nothing', async () => {
    const limitedServer = new McpServer({ name: 'twl-test', version: '0' });
    const grant = { namespaces: ['workflow'] };
    const limitedResources = registerResources(limitedServer, runtime, grant);
    registerPrompts(limitedServer, runtime, grant);
    const [clientTransport, serverTransport] = InMemoryTransport.createLinkedPair();
    const limited = new Client({ name: 'mcp-resources-limited', version: '0' });
    await limitedServer.connect(serverTransport);
    await limited.connect(clientTransport);
    try {
      // The same capabilities as an unlimited server's: prompts/list answers, with nothing.
      expect(limited.getServerCapabilities()).toEqual(client.getServerCapabilities());
      expect((await limited.listPrompts()).prompts).toEqual([]);
      const unknown = async (c: Client, name: string) => c.getPrompt({ name, arguments: { ticket_id: String(ticket.id) } }).then(() => 'got', (err: { code?: number; message: string }) => ({ code: err.code, message: err.message.replace(name, 'PROMPT') }));
      expect(await unknown(limited, 'summarise_incident')).toEqual(await unknown(client, 'zz_no_prompt'));
      expect(await unknown(limited, 'summarise_incident')).toMatchObject({ code: -32602, message: expect.stringMatching(/Prompt PROMPT not found/) });
      await expect(limited.complete({ ref: { type: 'ref/prompt', name: 'triage_ticket' }, argument: { name: 'ticket_id', value: String(ticket.id) } })).rejects.toMatchObject({ code: -32602, message: expect.stringMatching(/Prompt triage_ticket not found/) });
      const store = vi.spyOn(runtime, 'store');
      try {
        const template = await limited.complete({ ref: { type: 'ref/resource', uri: 'twl://tickets/{id}' }, argument: { name: 'id', value: String(ticket.id) } });
        expect(template.completion.values).toEqual([]);
        const agents = await limited.complete({ ref: { type: 'ref/resource', uri: 'twl://agents/{name}' }, argument: { name: 'name', value: '' } });
        expect(agents.completion.values).toEqual([]);
        expect(store).not.toHaveBeenCalled();
      } finally {
        store.mockRestore();
      }
      // The unlimited server completes the same ticket.
      expect((await client.complete({ ref: { type: 'ref/resource', uri: 'twl://tickets/{id}' }, argument: { name: 'id', value: String(ticket.id) } })).completion.values).toContain(String(ticket.id));
    } finally {
      await limited.close();
      limitedResources.close();
    }
  });

  it.skipIf(!available)('the change feed as a limited key\'s listen streams hear it: nothing of twl\'s resources, nor of a task outside its grant', async () => {
    const store = await runtime.store();
    const task = (namespaces: string[] | undefined) =>
      insertTask(store, { kind: 'tool', tool: 'fx_read', input: {}, queue: 'default', trigger: 'now', retries: 0, timeoutMs: 1000, needsApproval: false, createdBy: 'test', status: 'pending', ...(namespaces ? { namespaces } : {}) });
    const mine = await task(['fx']);
    const everyone = await task(undefined);
    const bus = new InMemoryServerEventBus();
    const heard: string[] = [];
    const off = grantedBus(bus, runtime, ['fx']).subscribe((e) => void heard.push(e.kind === 'resource_updated' ? e.uri : e.kind));
    for (const uri of [`twl://tickets/${ticket.id}`, 'twl://tickets', 'twl://audit', 'twl://agents/someone', `twl://tasks/${everyone.id}`, `twl://tasks/${mine.id}`, 'test://elsewhere']) bus.publish({ kind: 'resource_updated', uri });
    bus.publish({ kind: 'tools_list_changed' });
    await expect.poll(() => heard).toContain(`twl://tasks/${mine.id}`);
    await sleep(200);
    expect(heard.sort()).toEqual([`twl://tasks/${mine.id}`, 'test://elsewhere', 'tools_list_changed'].sort());
    off();
  });

  it.skipIf(!available)('close() drops the session\'s subscriptions and stops polling', async () => {
    await client.subscribeResource({ uri: `twl://tickets/${ticket.id}` });
    expect(ticketWatch(runtime).active).toBe(true);
    resources.close();
    expect(ticketWatch(runtime).active).toBe(false);
    const since = Date.now();
    await invoke(commentOp, runtime, { id: ticket.id, text: 'After close.' });
    await sleep(1500);
    expect(updates.filter((u) => u.at >= since)).toEqual([]);
  });
});
