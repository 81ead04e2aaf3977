import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { CreateMessageRequestSchema, ElicitRequestSchema, LoggingMessageNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { Config } from '@oclif/core';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { opCommands } from '../../src/mcp/server.js';
import { bin, envelope, inheritedEnv, root, tempHome, twl } from '../helpers.js';

// The seed's contract names (those built so far), then twl's own ticket tools.
const seedTools = [
  'cache_cache_delete', 'cache_cache_get', 'cache_cache_keys', 'cache_cache_set', 'cache_cache_stats',
  'database_db_health', 'database_describe_table', 'database_execute_query', 'database_list_tables',
  'maestro_analyze', 'maestro_chat', 'maestro_generate', 'maestro_list_agents', 'maestro_orchestrate',
  'real-classifier_classify_ticket', 'real-resolver_resolve_ticket', 'sentiment-analyzer_analyze_sentiment',
  'monitoring_get_cache_stats', 'monitoring_get_container_logs', 'monitoring_get_llm_status', 'monitoring_get_system_metrics',
  'monitoring_health_check', 'monitoring_list_containers', 'monitoring_list_models',
  'real-desktop-commander_execute_command', 'browser_browse', 'code-review_analyze_code', 'code-review_security_scan',
  'real-backup_create_backup',
];
// twl's own tools beyond the seed's names.
const backupTools = ['real-backup_list_backups', 'real-backup_prune_backups', 'real-backup_restore_backup', 'real-backup_verify_backup'];
const ticketTools = ['audit_list_entries', 'dash_get_activity', 'tickets_approve_ticket', 'tickets_close_ticket', 'tickets_comment_ticket', 'tickets_create_ticket', 'tickets_get_ticket', 'tickets_list_tickets', 'tickets_reopen_ticket'];
// The documentation index: Context7's two names (kept exactly, hyphens and all), and twl's own.
const docsTools = ['resolve-library-id', 'query-docs', 'docs_add_library', 'docs_get_library', 'docs_list_libraries', 'docs_refresh_library', 'docs_remove_library', 'docs_search'];
const taskTools = ['task_approve', 'task_cancel', 'task_create', 'task_list', 'task_logs', 'task_pause', 'task_resume', 'task_run', 'task_show'];
const agentTools = ['agent_activate', 'agent_create', 'agent_deactivate', 'agent_delete', 'agent_edit', 'agent_list', 'agent_run', 'agent_show'];
// The hub (issue 13): search over the catalog, and accepting a quarantined upstream's changed tools.
const hubTools = ['tools_search', 'upstream_accept'];
// The workflow commands (workflow_<name> tools of configured workflows come on top; none here).
const workflowTools = ['workflow_list', 'workflow_run', 'workflow_runs', 'workflow_show', 'workflow_validate'];
const allTools = [...seedTools, ...ticketTools, ...backupTools, ...docsTools, ...taskTools, ...agentTools, ...hubTools, ...workflowTools].sort();

describe('twl serve --stdio with the official SDK client', () => {
  let home: string;
  let cleanup: () => void;
  let client: Client;
  let stderr = '';

  beforeAll(async () => {
    ({ home, cleanup } = tempHome('twl-mcp-'));
    const env = inheritedEnv();
    const transport = new StdioClientTransport({ command: process.execPath, args: [bin, 'serve', '--stdio'], env: { ...env, TWL_HOME: home, HOME: home }, cwd: home, stderr: 'pipe' });
    transport.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    client = new Client({ name: 'twl-test', version: '1.0.0' });
    await client.connect(transport);
  });
  afterAll(async () => {
    await client?.close();
    cleanup();
  });

  it('lists the tools with schemas and all four annotations', async () => {
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(allTools);
    for (const tool of tools) {
      expect(tool.inputSchema.type).toBe('object');
      expect(tool.outputSchema?.type, tool.name).toBe('object');
      expect(tool.title).toBeTruthy();
      expect(tool.description).toBeTruthy();
      for (const hint of ['readOnlyHint', 'destructiveHint', 'idempotentHint', 'openWorldHint'] as const) expect(typeof tool.annotations?.[hint], `${tool.name} ${hint}`).toBe('boolean');
    }
    const set = tools.find((t) => t.name === 'cache_cache_set')!;
    expect(set.inputSchema.required).toEqual(['key', 'value']);
    expect(set.annotations).toMatchObject({ readOnlyHint: false, destructiveHint: true });
  });

  it('round-trips cache_cache_set then cache_cache_get', async () => {
    const set = await client.callTool({ name: 'cache_cache_set', arguments: { key: 'mcp', value: 'hello', ttl: 60 } });
    expect(set.isError).toBeFalsy();
    expect(set.structuredContent).toMatchObject({ key: 'mcp', stored: true, ttl: 60 });
    const get = await client.callTool({ name: 'cache_cache_get', arguments: { key: 'mcp' } });
    expect(get.structuredContent).toMatchObject({ key: 'mcp', found: true, value: 'hello', backend: 'store' });
  });

  it('shares the embedded store with a CLI process while it holds it', async () => {
    const r = await twl(['cache', 'set', 'a', 'b'], { home, env: { TWL_STORE_LOCK_TIMEOUT: '5s' } });
    expect(r.exitCode, r.stderr).toBe(0);
    const get = await client.callTool({ name: 'cache_cache_get', arguments: { key: 'a' } });
    expect(get.structuredContent).toMatchObject({ found: true, value: 'b' });
  });

  it('gives structuredContent equal to the CLI --json result', async () => {
    const viaMcp = await client.callTool({ name: 'database_execute_query', arguments: { sql: 'select 1 as one, $1::text as t', params: ['x'] } });
    const viaCli = envelope((await twl(['db', 'query', 'select 1 as one, $1::text as t', '-p', 'x', '--json'], { home })).stdout).result!;
    const strip = (r: Record<string, unknown>) => ({ ...r, durationMs: 0, backend: 'any' });
    expect(strip(viaMcp.structuredContent as Record<string, unknown>)).toEqual(strip(viaCli));
  });

  it('sends op warnings and errors as log notifications, filtered by logging/setLevel', async () => {
    const logs: Array<{ level: string; data: unknown }> = [];
    client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void logs.push({ level: n.params.level, data: n.params.data }));
    const truncated = { name: 'database_execute_query', arguments: { sql: 'select generate_series(1, 5) as n', limit: 2 } };
    await client.setLoggingLevel('warning');
    await client.callTool(truncated);
    await client.callTool({ name: 'database_execute_query', arguments: { sql: 'drop table twl_cache' } });
    await expect.poll(() => logs.length).toBeGreaterThanOrEqual(2);
    expect(logs).toEqual([
      { level: 'warning', data: { tool: 'database_execute_query', message: expect.stringMatching(/first 2 rows/) } },
      { level: 'error', data: { tool: 'database_execute_query', error: expect.objectContaining({ code: 'TWL_SQL_REFUSED' }) } },
    ]);
    // Above the level: not sent.
    logs.length = 0;
    await client.setLoggingLevel('error');
    await client.callTool(truncated);
    await client.callTool({ name: 'cache_cache_get', arguments: { key: 'anything' } });
    expect(logs).toEqual([]);
  });

  it('returns a tool error, not a crash, for refused or invalid calls', async () => {
    const refused = await client.callTool({ name: 'database_execute_query', arguments: { sql: 'drop table twl_cache' } });
    expect(refused.isError).toBe(true);
    expect(JSON.stringify(refused.content)).toMatch(/TWL_SQL_REFUSED/);
    const invalid = await client.callTool({ name: 'cache_cache_set', arguments: { key: '', value: 'x' } });
    expect(invalid.isError).toBe(true);
    expect((await client.callTool({ name: 'cache_cache_get', arguments: { key: 'a' } })).isError).toBeFalsy();
  });

  it('analyses sentiment and classifies tickets (the seed examples)', async () => {
    const sentiment = await client.callTool({ name: 'sentiment-analyzer_analyze_sentiment', arguments: { text: 'This is great!' } });
    expect(sentiment.structuredContent).toMatchObject({ sentiment: 'positive', confidence: expect.any(Number) });
    const classified = await client.callTool({ name: 'real-classifier_classify_ticket', arguments: { ticket_text: 'Server is down' } });
    expect(classified.structuredContent).toMatchObject({ category: 'server', method: 'rules' });
  });

  it('creates and resolves a ticket over MCP, refusing approvals nobody can give', async () => {
    const created = await client.callTool({ name: 'tickets_create_ticket', arguments: { text: 'La base de données est lente depuis ce matin' } });
    const id = (created.structuredContent as { id: number }).id;
    const resolved = await client.callTool({ name: 'real-resolver_resolve_ticket', arguments: { ticket_id: id } });
    expect(resolved.structuredContent).toMatchObject({ outcome: 'escalated', ticket: { id, status: 'escalated' } });
  });

  it('keeps stdout for the protocol: logs go to stderr', () => {
    // The client would have failed to parse any non-protocol line on stdout; stderr holds no stack traces.
    expect(stderr).not.toMatch(/\n\s+at /);
  });
});

describe('the command tree and the tool list', () => {
  it('match one to one, by the op each command carries', async () => {
    const config = await Config.load(root);
    const entries = await opCommands(config);
    expect(entries.map((e) => e.op.mcpName).sort()).toEqual(allTools);
    for (const { commandId, op } of entries) expect(commandId.replace(':', '.')).toBe(op.id);
    // Maestro runs ops by name from the core registry: it holds exactly the command tree's ops.
    const { coreOps } = await import('../../src/ops/registry.js');
    expect([...(await coreOps()).keys()].sort()).toEqual(allTools);
  });
});

describe('twl mcp config', () => {
  it('prints a snippet that an MCP client can start twl from', async () => {
    const { home, cleanup } = tempHome('twl-mcpconfig-');
    try {
      const r = await twl(['mcp', 'config', '--client', 'claude', '--json'], { home });
      const snippet = (envelope(r.stdout).result as { snippet: { mcpServers: { twl: { command: string; args: string[]; env: Record<string, string> } } } }).snippet.mcpServers.twl;
      expect(snippet).toMatchObject({ command: process.execPath, args: [bin, 'serve', '--stdio'], env: { TWL_HOME: home } });
      // The snippet works: a client started from it lists twl's tools.
      const client = new Client({ name: 'snippet-test', version: '1.0.0' });
      await client.connect(new StdioClientTransport({ command: snippet.command, args: snippet.args, env: { ...snippet.env, PATH: process.env.PATH ?? '' }, stderr: 'ignore' }));
      expect((await client.listTools()).tools.length).toBe(allTools.length);
      await client.close();
      const vscode = await twl(['mcp', 'config', '--client', 'vscode', '--json'], { home });
      expect((envelope(vscode.stdout).result as { snippet: unknown }).snippet).toMatchObject({ servers: { twl: { type: 'stdio' } } });
    } finally {
      cleanup();
    }
  });
});

describe('long ops over MCP: progress and approvals', () => {
  let home: string;
  let cleanup: () => void;
  const start = async (capabilities: Record<string, unknown>) => {
    const env = inheritedEnv();
    const client = new Client({ name: 'twl-approvals', version: '1.0.0' }, { capabilities });
    await client.connect(new StdioClientTransport({ command: process.execPath, args: [bin, 'serve', '--stdio'], env: { ...env, TWL_HOME: home, HOME: home }, cwd: home, stderr: 'ignore' }));
    return client;
  };
  beforeAll(() => {
    ({ home, cleanup } = tempHome('twl-mcp-approve-'));
    writeFileSync(
      path.join(home, '.twlrc.json'),
      JSON.stringify({
        runbooks: [
          { name: 'stale lock', when: { keywords: ['deploy lock'] }, steps: [{ tool: 'cache_cache_delete', input: { key: 'deploy:lock' } }], resolution: 'Removed the stale deploy lock.' },
          { name: 'slow probe', when: { keywords: ['probe'] }, steps: [{ tool: 'database_execute_query', input: { sql: 'select pg_sleep(600)', timeout_ms: 600_000 } }, { tool: 'cache_cache_stats' }], resolution: 'done' },
        ],
      }),
    );
  });
  afterAll(() => cleanup());

  it('stops a long op on notifications/cancelled, and the timeline says where', async () => {
    const client = await start({});
    try {
      const id = ((await client.callTool({ name: 'tickets_create_ticket', arguments: { text: 'Please run the probe' } })).structuredContent as { id: number }).id;
      const controller = new AbortController();
      const updates: string[] = [];
      const call = client.callTool({ name: 'real-resolver_resolve_ticket', arguments: { ticket_id: id } }, undefined, {
        signal: controller.signal,
        onprogress: (p) => {
          updates.push(String(p.message));
          // The slow step has started: cancel it (the client sends notifications/cancelled).
          if (/database_execute_query/.test(String(p.message))) controller.abort('the user cancelled');
        },
      });
      await expect(call).rejects.toThrow(/cancelled/);
      // The server stopped the op: the ticket goes back to triaged, and the timeline says where. (The
      // slow step sleeps 10 min, so only a stopped op gets there within the wait, however loaded the machine.)
      await expect
        .poll(async () => ((await client.callTool({ name: 'tickets_get_ticket', arguments: { id } })).structuredContent as { ticket: { status: string } }).ticket.status, { timeout: 120_000 })
        .toBe('triaged');
      const shown = (await client.callTool({ name: 'tickets_get_ticket', arguments: { id } })).structuredContent as { timeline: Array<{ kind: string; status: string; decision: string | null }> };
      const interrupted = shown.timeline.find((e) => e.kind === 'interrupted')!;
      expect(interrupted.decision).toMatch(/interrupted (before|during) step 1 \(database_execute_query\)/);
      if (interrupted.decision!.includes('during')) expect(shown.timeline.find((e) => e.kind === 'check')).toMatchObject({ status: 'cancelled' });
      expect(updates.length).toBeGreaterThanOrEqual(1);
      // The server is still there.
      expect((await client.callTool({ name: 'cache_cache_stats', arguments: {} })).isError).toBeFalsy();
    } finally {
      await client.close();
    }
  });

  it('sends progress notifications while resolving', async () => {
    const client = await start({});
    try {
      const created = await client.callTool({ name: 'tickets_create_ticket', arguments: { text: 'La base de données est lente depuis ce matin' } });
      const id = (created.structuredContent as { id: number }).id;
      // Read off the wire, in the order it came: the SDK 1.x client hands a notification to its
      // progress callback a microtask late, and a response read in the same chunk has dropped the
      // callback by then ("unknown token"), so the last update of a fast op can miss onprogress
      // however the server orders its messages. What the server sent is what this test is about.
      const wire: Array<{ method?: string; params?: { progress: number; message?: string } }> = [];
      const transport = client.transport!;
      const onmessage = transport.onmessage!;
      transport.onmessage = (message, extra) => {
        wire.push(message as (typeof wire)[number]);
        onmessage(message, extra);
      };
      await client.callTool({ name: 'real-resolver_resolve_ticket', arguments: { ticket_id: id } }, undefined, { onprogress: () => undefined });
      const updates = wire.filter((m) => m.method === 'notifications/progress').map((m) => m.params!);
      expect(updates.length).toBeGreaterThanOrEqual(2);
      expect(updates.map((u) => u.message).join(' ')).toMatch(/database_db_health/);
      // Every update came before the answer, each with a progress not below the one before.
      expect(wire.findLastIndex((m) => m.method === 'notifications/progress')).toBeLessThan(wire.findIndex((m) => m.method === undefined));
      expect(updates.map((u) => u.progress)).toEqual([...updates.map((u) => u.progress)].sort((a, b) => a - b));
    } finally {
      await client.close();
    }
  });

  it("uses the client's model through sampling when no Ollama is configured", async () => {
    const client = await start({ sampling: { tools: {} } });
    const requests: Array<{ tools: boolean; system?: string; last: unknown }> = [];
    client.setRequestHandler(CreateMessageRequestSchema, async (request) => {
      const { tools, messages, systemPrompt } = request.params;
      const last = messages.at(-1)!;
      requests.push({ tools: Boolean(tools?.length), system: systemPrompt, last: last.content });
      const answered = messages.some((m) => Array.isArray(m.content) && m.content.some((c) => c.type === 'tool_result'));
      // Classification: JSON. Investigation: first a tool call, then the diagnosis.
      if (!tools?.length) return { role: 'assistant', model: 'client-model', content: { type: 'text', text: '{"category":"database","priority":"high","reason":"the database is slow"}' } };
      if (!answered) return { role: 'assistant', model: 'client-model', stopReason: 'toolUse', content: [{ type: 'tool_use', id: 'u1', name: 'database_db_health', input: {} }] };
      return { role: 'assistant', model: 'client-model', stopReason: 'endTurn', content: [{ type: 'text', text: 'The store answers; look at slow queries next.' }] };
    });
    try {
      const created = await client.callTool({ name: 'tickets_create_ticket', arguments: { text: 'La base de données est lente depuis ce matin' } });
      const id = (created.structuredContent as { id: number }).id;
      const resolved = await client.callTool({ name: 'real-resolver_resolve_ticket', arguments: { ticket_id: id } });
      expect(resolved.isError).toBeFalsy();
      expect(resolved.structuredContent).toMatchObject({ diagnosis: 'The store answers; look at slow queries next.', plan: { planner: 'llm' } });
      // The model's tool call ran for real, and its result went back to the model.
      expect(requests.some((r) => r.tools && JSON.stringify(r.last).includes('tool_result'))).toBe(true);
      const shown = await client.callTool({ name: 'tickets_get_ticket', arguments: { id } });
      expect(JSON.stringify(shown.structuredContent)).toMatch(/LLM \(twl-approvals \(sampling\), 6 nearest labelled tickets as examples\): the database is slow/);
      const agents = await client.callTool({ name: 'maestro_list_agents', arguments: {} });
      expect(agents.structuredContent).toMatchObject({ llm: { reachable: true, detail: expect.stringMatching(/through sampling/) } });
    } finally {
      await client.close();
    }
  });

  it('asks for approval through elicitation, and waits when the client cannot ask', async () => {
    const plain = await start({});
    const asking = await start({ elicitation: {} });
    const questions: string[] = [];
    asking.setRequestHandler(ElicitRequestSchema, async (request) => {
      questions.push(String(request.params.message));
      return { action: 'accept', content: { approve: true } };
    });
    try {
      const ticket = async (client: Client) => (((await client.callTool({ name: 'tickets_create_ticket', arguments: { text: 'The deploy lock is stuck' } })).structuredContent as { id: number }).id);
      const waiting = await plain.callTool({ name: 'real-resolver_resolve_ticket', arguments: { ticket_id: await ticket(plain) } });
      expect(waiting.structuredContent).toMatchObject({ outcome: 'waiting_approval' });
      const approved = await asking.callTool({ name: 'real-resolver_resolve_ticket', arguments: { ticket_id: await ticket(asking) } });
      expect(approved.structuredContent).toMatchObject({ outcome: 'resolved', summary: expect.stringMatching(/Removed the stale deploy lock/) });
      expect(questions).toEqual([expect.stringMatching(/cache_cache_delete/)]);
    } finally {
      await plain.close();
      await asking.close();
    }
  });
});
