import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bin, envelope, inheritedEnv, startHttpServe, tempHome, twl } from '../helpers.js';

// The 2026-07-28 revision: no initialize handshake and no session; every request carries its
// _meta envelope. The official 2.x client pinned to that revision must list and call twl's
// tools on both transports, and get approvals through multi round-trip calls.
const REVISION = '2026-07-28';

/** A 2.x client pinned to 2026-07-28; it never sends initialize. */
const modernClient = (capabilities: Record<string, unknown> = {}) => new Client({ name: 'twl-2026-test', version: '1.0.0' }, { capabilities, versionNegotiation: { mode: { pin: REVISION } } });

const stdioTransport = (home: string) =>
  new StdioClientTransport({ command: process.execPath, args: [bin, 'serve', '--stdio'], env: { ...inheritedEnv(), TWL_HOME: home, HOME: home }, cwd: home, stderr: 'ignore' });

/** Writes a runbook whose one step needs approval (a destructive cache delete). */
const withRunbook = (home: string) =>
  writeFileSync(
    path.join(home, '.twlrc.json'),
    JSON.stringify({ runbooks: [{ name: 'stale lock', when: { keywords: ['deploy lock'] }, steps: [{ tool: 'cache_cache_delete', input: { key: 'deploy:lock' } }], resolution: 'Removed the stale deploy lock.' }] }),
  );

describe('MCP 2026-07-28 over stdio (official 2.x client, no handshake)', () => {
  let home: string;
  let cleanup: () => void;
  let client: Client;

  beforeAll(async () => {
    ({ home, cleanup } = tempHome('twl-mcp2026-'));
    withRunbook(home);
    client = modernClient();
    await client.connect(stdioTransport(home));
  });
  afterAll(async () => {
    await client?.close();
    cleanup();
  });

  it('negotiated 2026-07-28 and answers server/discover', async () => {
    expect(client.getNegotiatedProtocolVersion()).toBe(REVISION);
    const discovered = await client.discover();
    expect(discovered.supportedVersions).toContain(REVISION);
    expect(discovered._meta?.['io.modelcontextprotocol/serverInfo']).toMatchObject({ name: 'twl' });
    expect(discovered.capabilities).toMatchObject({ tools: {}, resources: {}, prompts: {} });
  });

  it('lists and calls tools', async () => {
    const { tools } = await client.listTools();
    expect(tools.length).toBeGreaterThan(30);
    expect(tools.map((t) => t.name)).toEqual(expect.arrayContaining(['cache_cache_set', 'sentiment-analyzer_analyze_sentiment', 'real-desktop-commander_execute_command']));
    const sentiment = await client.callTool({ name: 'sentiment-analyzer_analyze_sentiment', arguments: { text: 'This is great!' } });
    expect(sentiment.isError).toBeFalsy();
    expect(sentiment.structuredContent).toMatchObject({ sentiment: 'positive' });
    await client.callTool({ name: 'cache_cache_set', arguments: { key: 'era', value: REVISION } });
    const got = await client.callTool({ name: 'cache_cache_get', arguments: { key: 'era' } });
    expect(got.structuredContent).toMatchObject({ key: 'era', value: REVISION });
    // The same store as the CLI.
    const cli = await twl(['cache', 'get', 'era', '--json'], { home });
    expect(envelope(cli.stdout).result).toMatchObject({ value: REVISION });
  });

  it('reads resources and prompts', async () => {
    const created = await client.callTool({ name: 'tickets_create_ticket', arguments: { text: 'Le serveur de fichiers ne répond plus' } });
    const id = (created.structuredContent as { id: number }).id;
    const { contents } = await client.readResource({ uri: `twl://tickets/${id}` });
    expect(JSON.parse(String((contents[0] as { text: string }).text))).toMatchObject({ ticket: { id } });
    const prompt = await client.getPrompt({ name: 'triage_ticket', arguments: { ticket_id: String(id) } });
    expect(JSON.stringify(prompt.messages)).toContain(`#${id}`);
  });

  it('asks for approval with a multi round-trip call, and waits when the client cannot answer', async () => {
    const ticket = async (c: Client) => ((await c.callTool({ name: 'tickets_create_ticket', arguments: { text: 'The deploy lock is stuck' } })).structuredContent as { id: number }).id;
    // No elicitation capability: nobody can approve, the ticket waits.
    const waiting = await client.callTool({ name: 'real-resolver_resolve_ticket', arguments: { ticket_id: await ticket(client) } });
    expect(waiting.structuredContent).toMatchObject({ outcome: 'waiting_approval' });

    const asking = modernClient({ elicitation: { form: {} } });
    const questions: string[] = [];
    asking.setRequestHandler('elicitation/create', async (request) => {
      questions.push(String(request.params.message));
      return { action: 'accept', content: { approve: true } };
    });
    await asking.connect(stdioTransport(home));
    try {
      const approved = await asking.callTool({ name: 'real-resolver_resolve_ticket', arguments: { ticket_id: await ticket(asking) } });
      expect(approved.structuredContent).toMatchObject({ outcome: 'resolved', summary: expect.stringMatching(/Removed the stale deploy lock/) });
      expect(questions).toEqual([expect.stringMatching(/cache_cache_delete/)]);
    } finally {
      await asking.close();
    }
  });
});

describe('MCP 2026-07-28 over HTTP (official 2.x client, no handshake, no session)', () => {
  let home: string;
  let cleanup: () => void;
  let server: Awaited<ReturnType<typeof startHttpServe>>;
  let admin: string;
  let viewer: string;

  beforeAll(async () => {
    ({ home, cleanup } = tempHome('twl-mcp2026-http-'));
    admin = String((envelope((await twl(['keys', 'create', '--role', 'admin', '--json'], { home })).stdout).result as { key: string }).key);
    viewer = String((envelope((await twl(['keys', 'create', '--role', 'viewer', '--json'], { home })).stdout).result as { key: string }).key);
    server = await startHttpServe(home);
  });
  afterAll(async () => {
    server?.child.kill('SIGTERM');
    await server?.child;
    cleanup();
  });

  const connect = async (key: string) => {
    const client = modernClient();
    await client.connect(new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`), { requestInit: { headers: { authorization: `Bearer ${key}` } } }));
    return client;
  };

  it('lists and calls tools without initialize or a session, and the role still decides the tools', async () => {
    const client = await connect(admin);
    try {
      expect(client.getNegotiatedProtocolVersion()).toBe(REVISION);
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name)).toContain('real-desktop-commander_execute_command');
      const sentiment = await client.callTool({ name: 'sentiment-analyzer_analyze_sentiment', arguments: { text: 'This is great!' } });
      expect(sentiment.structuredContent).toMatchObject({ sentiment: 'positive' });
      await client.callTool({ name: 'cache_cache_set', arguments: { key: 'http-era', value: 'modern' } });
      expect((await client.callTool({ name: 'cache_cache_get', arguments: { key: 'http-era' } })).structuredContent).toMatchObject({ value: 'modern' });
    } finally {
      await client.close();
    }
    const limited = await connect(viewer);
    try {
      const { tools } = await limited.listTools();
      expect(tools.map((t) => t.name)).not.toContain('real-desktop-commander_execute_command');
      expect(tools.map((t) => t.name)).toContain('sentiment-analyzer_analyze_sentiment');
    } finally {
      await limited.close();
    }
  });

  it('keeps concurrent calls apart (server instances are reused between requests)', async () => {
    const client = await connect(admin);
    try {
      const texts = Array.from({ length: 40 }, (_, i) => (i % 2 ? `Merci, tout fonctionne parfaitement ${i}` : `This is terrible, everything is broken again ${i}`));
      const results = await Promise.all(texts.map((text) => client.callTool({ name: 'sentiment-analyzer_analyze_sentiment', arguments: { text } })));
      results.forEach((r, i) => expect(r.structuredContent, texts[i]).toMatchObject({ sentiment: i % 2 ? 'positive' : 'negative' }));
    } finally {
      await client.close();
    }
  });

  it('streams resources/updated on subscriptions/listen when a ticket changes', async () => {
    const client = await connect(admin);
    const updates: string[] = [];
    client.setNotificationHandler('notifications/resources/updated', (n) => void updates.push(n.params.uri));
    try {
      const id = ((await client.callTool({ name: 'tickets_create_ticket', arguments: { text: 'Le VPN coupe toutes les 10 minutes' } })).structuredContent as { id: number }).id;
      const other = ((await client.callTool({ name: 'tickets_create_ticket', arguments: { text: 'Imprimante bloquée au 2e étage' } })).structuredContent as { id: number }).id;
      const subscription = await client.listen({ resourceSubscriptions: [`twl://tickets/${id}`] });
      expect(subscription.honoredFilter.resourceSubscriptions).toEqual([`twl://tickets/${id}`]);
      // The acknowledgement means the feed follows (its baseline is taken): change both tickets from the CLI at once.
      await twl(['ticket', 'comment', String(id), 'rebooted the VPN gateway'], { home });
      await twl(['ticket', 'comment', String(other), 'paper jam cleared'], { home });
      await expect.poll(() => updates, { timeout: 10_000 }).toContain(`twl://tickets/${id}`);
      // Only what the stream asked for.
      expect(updates).not.toContain(`twl://tickets/${other}`);
      await subscription.close();
    } finally {
      await client.close();
    }
  });

  it('answers a bare 2026 request on the wire: no session header, the _meta envelope, Mcp-Method checked against the body', async () => {
    const meta = {
      'io.modelcontextprotocol/protocolVersion': REVISION,
      'io.modelcontextprotocol/clientInfo': { name: 'curl', version: '1' },
      'io.modelcontextprotocol/clientCapabilities': {},
    };
    const post = (body: unknown, headers: Record<string, string> = {}) =>
      fetch(`${server.url}/mcp`, {
        method: 'POST',
        headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': REVISION, ...headers },
        body: JSON.stringify(body),
      });
    const call = { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'sentiment-analyzer_analyze_sentiment', arguments: { text: 'This is great!' }, _meta: meta } };
    const ok = await post(call, { 'mcp-method': 'tools/call', 'mcp-name': 'sentiment-analyzer_analyze_sentiment' });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('mcp-session-id')).toBeNull();
    const body = (await ok.json()) as { result: { structuredContent: { sentiment: string } } };
    expect(body.result.structuredContent.sentiment).toBe('positive');
    // A header that disagrees with the body is refused.
    const mismatch = await post(call, { 'mcp-method': 'tools/call', 'mcp-name': 'cache_cache_set' });
    const refused = (await mismatch.json()) as { error?: { code: number } };
    expect(refused.error?.code).toBe(-32020);
  });
});
