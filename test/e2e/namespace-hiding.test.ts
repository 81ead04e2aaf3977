import { Client as ModernClient, StreamableHTTPClientTransport as ModernTransport } from '@modelcontextprotocol/client';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey, envelope, root, startHttpServe, stopServe, tempHome, twl } from '../helpers.js';

/**
 * A key limited to namespaces (`twl keys create --namespaces twl,workflow`) must not learn what
 * other namespaces hold. On every face it can reach (MCP tools/call, raw and through a session;
 * REST tool calls; task create; agent runs and activation; Maestro's runbook steps, in `ticket resolve` and
 * `maestro orchestrate`), the answer for a tool that exists in another namespace (fx_read, of the
 * upstream fx) is byte for byte the answer for a tool that exists nowhere (fx_nope, zz_nope), the
 * tool's name aside: same HTTP status, same code, same message. The audit row keeps the real reason
 * (TWL_NAMESPACE_DENIED, TWL_TOOL_UNKNOWN) for operators. A caller without a key limit keeps the
 * precise answer.
 */
const fixture = path.join(root, 'test', 'fixtures', 'upstream-server.ts');
const HIDDEN = 'fx_read';
const MISSING = ['fx_nope', 'zz_nope'] as const;

interface Answer {
  status: number;
  body: unknown;
}

describe('a limited key is told of a tool in another namespace what it is told of no tool at all', () => {
  const { home, cleanup } = tempHome('twl-ns-hiding-');
  let serve: Awaited<ReturnType<typeof startHttpServe>>;
  const clients: Array<{ close(): Promise<void> }> = [];
  const keys: Record<string, string> = {};
  const run = (args: string[]) => twl(args, { home, timeout: 120_000 });

  beforeAll(async () => {
    const runbook = (name: string, word: string, tool: string) => ({
      name,
      when: { keywords: [word] },
      steps: [{ tool, input: { key: 'lock' } }, { tool: 'cache_cache_set', input: { key: `fix:${name}`, value: 'applied' }, approval: false }],
      resolution: `Ran ${name}.`,
    });
    writeFileSync(
      path.join(home, '.twlrc.json'),
      JSON.stringify({
        upstreams: [{ name: 'fx', transport: 'stdio', command: process.execPath, args: [fixture] }],
        runbooks: [runbook(agentOf(HIDDEN), 'zorbnshidden', HIDDEN), ...MISSING.map((tool, i) => runbook(agentOf(tool), `zorbnsmissing${i}`, tool))],
        workflows: [{ name: 'nsoutside', steps: [{ id: 'read', kind: 'tool', tool: HIDDEN, input: { key: 'k' } }] }],
      }),
    );
    serve = await startHttpServe(home);
    keys.all = await createApiKey(home, 'ns-all', 'admin');
    keys.limited = await createApiKey(home, 'ns-limited', 'admin', 'twl,workflow');
    // An agent whose declared step calls the hidden tool (made by the unlimited key; one naming a missing tool cannot be activated).
    {
      const tool = HIDDEN;
      const name = agentOf(tool);
      const created = await rest(keys.all, 'agent_create', { name, kind: 'master', tools: ['fx_*'], steps: { tools: [{ tool, input: { key: 'k' } }] } });
      expect(created.status, JSON.stringify(created.body)).toBe(200);
      const activated = await rest(keys.all, 'agent_activate', { name });
      expect(activated.status, JSON.stringify(activated.body)).toBe(200);
    }
  });

  afterAll(async () => {
    await stopServe(serve, clients);
    cleanup();
  });

  const agentOf = (tool: string) => `ns-${tool.replace('_', '-')}`;
  const rest = async (key: string, tool: string, body: unknown): Promise<Answer> => {
    const res = await fetch(`${serve.url}/api/tools/${tool}`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: res.status, body: await res.json() };
  };
  const rawMcp = async (key: string, tool: string): Promise<Answer> => {
    const res = await fetch(`${serve.url}/mcp`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', accept: 'application/json', 'mcp-protocol-version': '2025-06-18' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: tool, arguments: { key: 'k' } } }),
    });
    return { status: res.status, body: await res.text() };
  };
  const session = async (key: string) => {
    const client = new Client({ name: 'ns-hiding', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${serve.url}/mcp`), { requestInit: { headers: { authorization: `Bearer ${key}` } } }));
    clients.push(client);
    return client;
  };
  const audit = async (tool: string) => {
    const r = await run(['db', 'query', `select face, decision, error_code from twl_tool_calls where tool = '${tool}' and decision = 'refused' order by id`, '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    return (envelope(r.stdout).result as { rows: Array<{ face: string; decision: string; error_code: string }> }).rows;
  };

  /** The answer with the tool's name (and names derived from it) taken out: what must be the same. */
  const anonymous = (answer: unknown, tool: string) =>
    JSON.stringify(answer)
      .replaceAll(agentOf(tool), 'AGENT')
      .replaceAll(tool, 'TOOL');

  /** For each face: the answer for the hidden tool, byte for byte the answer for each missing one. */
  async function expectSame(face: string, ask: (tool: string) => Promise<unknown>): Promise<unknown> {
    const hidden = await ask(HIDDEN);
    for (const tool of MISSING) expect(anonymous(await ask(tool), tool), `${face}: ${tool} vs ${HIDDEN}`).toBe(anonymous(hidden, HIDDEN));
    return hidden;
  }

  it('MCP tools/call, raw JSON-RPC and through a session: the same answer; tools/list and tools_search name no fx tool', async () => {
    const raw = (await expectSame('mcp raw', (tool) => rawMcp(keys.limited!, tool))) as Answer;
    expect(raw.body).toContain('No tool named \\"fx_read\\".');
    const client = await session(keys.limited!);
    await expectSame('mcp session', (tool) => client.callTool({ name: tool, arguments: { key: 'k' } }).catch((err: Error) => ({ thrown: err.message })));
    const listed = (await client.listTools()).tools.map((t) => t.name);
    expect(listed.length).toBeGreaterThan(5);
    expect(listed.filter((n) => n.startsWith('fx_'))).toEqual([]);
    const found = await client.callTool({ name: 'tools_search', arguments: { query: 'fx read a key', limit: 50 } });
    expect(JSON.stringify(found.structuredContent)).not.toMatch(/fx_\w+/);
  });

  it('REST tool calls, task create, agent runs: the same status and body', async () => {
    const called = (await expectSame('rest call', (tool) => rest(keys.limited!, tool, { key: 'k' }))) as Answer;
    expect(called).toMatchObject({ status: 404, body: { error: { code: 'TWL_TOOL_UNKNOWN', message: 'No tool named "fx_read".' } } });
    const task = (await expectSame('task create', (tool) => rest(keys.limited!, 'task_create', { tool, input: { key: 'k' }, now: true }))) as Answer;
    expect(task).toMatchObject({ status: 404, body: { error: { code: 'TWL_TOOL_UNKNOWN' } } });
    // An agent's declared step naming a missing tool cannot be activated: its run of the hidden tool answers as a call of a missing tool does.
    const agent = await rest(keys.limited!, 'agent_run', { name: agentOf(HIDDEN), prompt: 'go' });
    for (const tool of MISSING) expect(anonymous(await rest(keys.limited!, tool, { key: 'k' }), tool), `agent run vs ${tool}`).toBe(anonymous(agent, HIDDEN));
    // The agent stays active for everyone else: the refusal was its caller's grant.
    const shown = await rest(keys.all!, 'agent_show', { name: agentOf(HIDDEN) });
    expect(JSON.stringify(shown.body)).toContain('"status":"active"');
  });

  it('a workflow step outside the grant is said as a step whose tool does not exist', async () => {
    const r = await rest(keys.limited!, 'workflow_nsoutside', {});
    const text = JSON.stringify(r.body);
    expect(text).toContain('No tool named \\"fx_read\\".');
    expect(text).not.toContain('TWL_NAMESPACE_DENIED');
    expect(text).not.toContain('namespaces this');
  });

  it('Maestro: a runbook step refused in ticket resolve and maestro orchestrate, said the same way', async () => {
    const words: Record<string, string> = { [HIDDEN]: 'zorbnshidden', [MISSING[0]]: 'zorbnsmissing0', [MISSING[1]]: 'zorbnsmissing1' };
    type Resolution = { steps: Array<{ tool: string; status: string; reason?: unknown }>; plan: { steps: Array<{ tool: string; refused?: unknown }> } };
    const resolved = (await expectSame('ticket resolve', async (tool) => {
      const created = await rest(keys.limited!, 'tickets_create_ticket', { text: `The ${words[tool]} is stuck, please look at it.` });
      const id = (created.body as { result: { id: number } }).result.id;
      const r = await rest(keys.limited!, 'real-resolver_resolve_ticket', { ticket_id: id });
      const result = (r.body as { result: Resolution }).result;
      return { status: r.status, step: result.steps.find((s) => s.tool === tool), refused: result.plan.steps.find((s) => s.tool === tool)?.refused };
    })) as { step: { reason: unknown } };
    expect(resolved.step.reason).toEqual({ code: 'TWL_TOOL_UNKNOWN', message: 'No tool named "fx_read".' });
    await expectSame('maestro orchestrate', async (tool) => {
      const r = await rest(keys.limited!, 'maestro_orchestrate', { goal: `The ${words[tool]} is stuck, please look at it.` });
      const steps = (r.body as { result?: { investigation?: { steps: Array<{ tool: string; durationMs?: number }> } } }).result?.investigation?.steps;
      const step = steps?.find((s) => s.tool === tool);
      expect(step, JSON.stringify(r.body)).toBeDefined();
      return { status: r.status, step };
    });
  });

  it('the audit rows keep the real reason; an unlimited key keeps the precise answer', async () => {
    const hidden = await audit(HIDDEN);
    expect(new Set(hidden.map((r) => r.error_code))).toEqual(new Set(['TWL_NAMESPACE_DENIED']));
    expect(new Set(hidden.map((r) => r.face))).toEqual(new Set(['mcp', 'rest']));
    for (const tool of MISSING) {
      const rows = await audit(tool);
      expect(rows.length, tool).toBeGreaterThan(0);
      expect(new Set(rows.map((r) => r.error_code)), tool).toEqual(new Set(['TWL_TOOL_UNKNOWN']));
    }
    // The unlimited key calls fx_read; a missing tool is still a plain 404.
    expect((await rest(keys.all!, HIDDEN, { key: 'k' })).status).toBe(200);
    expect((await rest(keys.all!, 'fx_nope', {})).status).toBe(404);
  });

  it("MCP resources: a key granted no twl namespace reads no ticket, audit, health or agent, and no workflow run without workflow", async () => {
    keys.fxOnly ??= await createApiKey(home, 'ns-fx-only', 'admin', 'fx');
    const created = await run(['ticket', 'create', 'Resource hiding: printer on floor 3 jams', '--json']);
    expect(created.exitCode, created.stderr).toBe(0);
    const id = (envelope(created.stdout).result as { id: number }).id;
    const wf = await rest(keys.all!, 'workflow_run', { name: 'nsoutside', input: {} });
    const run_ = (wf.body as { result?: { run?: number }; error?: { details?: { run?: number } } }).result?.run ?? (wf.body as { error?: { details?: { run?: number } } }).error?.details?.run;
    const uris = ['twl://tickets', `twl://tickets/${id}`, 'twl://audit', 'twl://health', `twl://agents/${agentOf(HIDDEN)}`, ...(run_ ? [`twl://workflows/${run_}`] : [])];
    // The control: an unlimited key reads each of them.
    const all = await session(keys.all!);
    for (const uri of uris) expect((await all.readResource({ uri })).contents.length, uri).toBe(1);
    const limited = await session(keys.fxOnly);
    for (const uri of uris) {
      const refused = await limited.readResource({ uri }).then(() => 'read', (err: Error) => err.message);
      expect(refused, uri).toMatch(new RegExp(`Resource ${uri.replace(/[/.]/g, '\\$&')} not found`));
      // Workflow runs have no change feed: a subscription to one is accepted and never fires, for any caller.
      if (uri.startsWith('twl://workflows/')) continue;
      const subscribed = await limited.subscribeResource({ uri }).then(() => 'subscribed', (err: Error) => err.message);
      expect(subscribed, uri).toMatch(/not found/);
    }
    const listed = (await limited.listResources()).resources.map((r) => r.uri);
    expect(listed.filter((u) => /^twl:\/\/(tickets|agents|workflows)\//.test(u))).toEqual([]);
    // A key granted twl but not workflow reads tickets, not workflow runs.
    keys.twlOnly ??= await createApiKey(home, 'ns-twl-only', 'admin', 'twl');
    const twlOnly = await session(keys.twlOnly);
    expect((await twlOnly.readResource({ uri: `twl://tickets/${id}` })).contents.length).toBe(1);
    if (run_) await expect(twlOnly.readResource({ uri: `twl://workflows/${run_}` })).rejects.toThrow(/not found/);
  });

  it('MCP prompts and completions: a key granted no twl namespace is shown no prompt, gets one as a prompt that does not exist, and completes no ticket or agent; an unlimited key does', async () => {
    keys.fxOnly ??= await createApiKey(home, 'ns-fx-only', 'admin', 'fx');
    const created = await run(['ticket', 'create', 'Prompt hiding: the badge reader at gate 2 refuses every badge', '--json']);
    expect(created.exitCode, created.stderr).toBe(0);
    const id = String((envelope(created.stdout).result as { id: number }).id);
    const PROMPT = 'summarise_incident';
    const NO_PROMPT = 'zz_no_prompt';
    /** A JSON-RPC request without a session (a pooled server, built per grant), its body as it came. */
    const rpc = async (key: string, method: string, params: unknown): Promise<{ status: number; body: string }> => {
      const res = await fetch(`${serve.url}/mcp`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', accept: 'application/json', 'mcp-protocol-version': '2025-06-18' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 9, method, params }),
      });
      return { status: res.status, body: await res.text() };
    };
    const getPrompt = (key: string, name: string) => rpc(key, 'prompts/get', { name, arguments: { ticket_id: id } });
    const completePrompt = (key: string, name: string) => rpc(key, 'completion/complete', { ref: { type: 'ref/prompt', name }, argument: { name: 'ticket_id', value: id } });
    const completeTemplate = (key: string, uri: string, name: string, value: string) => rpc(key, 'completion/complete', { ref: { type: 'ref/resource', uri }, argument: { name, value } });
    const swapped = (answer: unknown, name: string) => JSON.stringify(answer).replaceAll(name, 'PROMPT');

    // The control: an unlimited key gets the prompt, and ticket numbers and agent names completed.
    expect((await getPrompt(keys.all!, PROMPT)).body).toContain('Prompt hiding: the badge reader');
    expect(JSON.parse((await completePrompt(keys.all!, PROMPT)).body).result.completion.values).toContain(id);
    expect(JSON.parse((await completeTemplate(keys.all!, 'twl://tickets/{id}', 'id', id)).body).result.completion.values).toContain(id);
    expect(JSON.parse((await completeTemplate(keys.all!, 'twl://agents/{name}', 'name', 'ns-')).body).result.completion.values).toContain(agentOf(HIDDEN));

    // The limited key: prompts/get and a prompt's completion answer, byte for byte, what a prompt that exists nowhere gets, from its own server and from the unlimited key's.
    for (const ask of [getPrompt, completePrompt]) {
      const hidden = await ask(keys.fxOnly, PROMPT);
      expect(hidden.body).toContain(`Prompt ${PROMPT} not found`);
      expect(swapped(hidden, PROMPT), ask.name).toBe(swapped(await ask(keys.fxOnly, NO_PROMPT), NO_PROMPT));
      expect(swapped(hidden, PROMPT), ask.name).toBe(swapped(await ask(keys.all!, NO_PROMPT), NO_PROMPT));
    }
    // The templates complete nothing for it: what the unlimited key gets for a value matching no ticket, no agent.
    expect((await completeTemplate(keys.fxOnly, 'twl://tickets/{id}', 'id', id)).body).toBe((await completeTemplate(keys.all!, 'twl://tickets/{id}', 'id', '0')).body);
    expect((await completeTemplate(keys.fxOnly, 'twl://agents/{name}', 'name', 'ns-')).body).toBe((await completeTemplate(keys.all!, 'twl://agents/{name}', 'name', 'zz-none')).body);
    expect(JSON.parse((await completeTemplate(keys.fxOnly, 'twl://tickets/{id}', 'id', id)).body).result.completion.values).toEqual([]);

    // Through a session: the same capabilities as the unlimited key's (prompts among them), no prompt listed, the prompt refused as an unknown one.
    const all = await session(keys.all!);
    const limited = await session(keys.fxOnly);
    expect(limited.getServerCapabilities()).toEqual(all.getServerCapabilities());
    expect((await all.listPrompts()).prompts.map((p) => p.name)).toContain(PROMPT);
    expect((await limited.listPrompts()).prompts).toEqual([]);
    const refused = async (client: Client, name: string) => client.getPrompt({ name, arguments: { ticket_id: id } }).then(() => 'got', (err: { code?: number; message: string }) => ({ code: err.code, message: err.message }));
    expect(swapped(await refused(limited, PROMPT), PROMPT)).toBe(swapped(await refused(all, NO_PROMPT), NO_PROMPT));
    const completed = await limited.complete({ ref: { type: 'ref/resource', uri: 'twl://tickets/{id}' }, argument: { name: 'id', value: id } });
    expect(completed.completion.values).toEqual([]);

    // A key granted twl (and not fx) keeps the prompts and their completions.
    keys.twlOnly ??= await createApiKey(home, 'ns-twl-only', 'admin', 'twl');
    expect((await getPrompt(keys.twlOnly, PROMPT)).body).toContain('Prompt hiding: the badge reader');
    expect(JSON.parse((await completePrompt(keys.twlOnly, PROMPT)).body).result.completion.values).toContain(id);
  });

  it('2026-07-28 subscriptions/listen: a key granted no twl namespace is acknowledged as any key is and hears nothing of a ticket or the ticket list; an unlimited key hears both', async () => {
    keys.fxOnly ??= await createApiKey(home, 'ns-fx-only', 'admin', 'fx');
    const created = await run(['ticket', 'create', 'Listen hiding: the lift on floor 5 stops between floors', '--json']);
    expect(created.exitCode, created.stderr).toBe(0);
    const id = String((envelope(created.stdout).result as { id: number }).id);
    const uris = [`twl://tickets/${id}`, 'twl://tickets', 'twl://audit'];
    const listen = async (key: string) => {
      const client = new ModernClient({ name: 'ns-listen', version: '1' }, { versionNegotiation: { mode: { pin: '2026-07-28' } } });
      await client.connect(new ModernTransport(new URL(`${serve.url}/mcp`), { requestInit: { headers: { authorization: `Bearer ${key}` } } }));
      clients.push(client);
      const updates: string[] = [];
      client.setNotificationHandler('notifications/resources/updated', (n) => void updates.push(n.params.uri));
      const subscription = await client.listen({ resourceSubscriptions: uris });
      return { updates, subscription };
    };
    const all = await listen(keys.all!);
    const limited = await listen(keys.fxOnly);
    expect(limited.subscription.honoredFilter).toEqual(all.subscription.honoredFilter);
    // Let the feed take its baseline (its first poll), then change the ticket from the CLI.
    await new Promise((r) => setTimeout(r, 1500));
    expect((await run(['ticket', 'comment', id, 'stuck again'])).exitCode).toBe(0);
    await expect.poll(() => all.updates, { timeout: 15_000 }).toEqual(expect.arrayContaining([`twl://tickets/${id}`, 'twl://tickets']));
    await new Promise((r) => setTimeout(r, 2500));
    expect(limited.updates).toEqual([]);
    await Promise.all([all.subscription.close(), limited.subscription.close()]);
  });

  it("agent_show, agent_list and the agent resource: a limited key is not shown the globs and steps naming tools outside its namespaces (counted, not named), nor another caller's runs; an unlimited key is shown all", async () => {
    type Shown = { agent: { name: string; tools: string[]; policy: { preapprove?: string[] }; steps: unknown; hidden?: unknown }; runs: Array<{ id: number; actor: string }> };
    // Two agents alike but for the tools they name: fx's (another namespace) and zz's (nowhere).
    const fields = (ns: string, tool: string) => ({ kind: 'master', tools: [`${ns}_*`, 'agent_show', `{agent_list,${tool}}`], preapprove: [tool], steps: { tools: [{ tool, input: { key: 'k' } }, { tool: 'agent_list' }] } });
    const made = { fx: fields('fx', HIDDEN), zz: fields('zz', MISSING[1]) };
    for (const [ns, body] of Object.entries(made)) {
      const created = await rest(keys.all!, 'agent_create', { name: `ns-view-${ns}`, ...body });
      expect(created.status, JSON.stringify(created.body)).toBe(200);
    }
    const show = async (key: string, name: string) => {
      const r = await rest(key, 'agent_show', { name });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      return (r.body as { result: Shown }).result;
    };
    const visible = (a: Shown['agent']) => ({ tools: a.tools, policy: a.policy, steps: a.steps, hidden: a.hidden });
    const limitedView = { tools: ['agent_show'], policy: { preapprove: [] }, steps: { tools: [{ tool: 'agent_list' }] }, hidden: { tools: 2, preapprove: 1, steps: 1, reason: false } };

    // The unlimited key: every glob and step, as made, and no `hidden`.
    const full = await show(keys.all!, 'ns-view-fx');
    expect(visible(full.agent)).toEqual({ tools: made.fx.tools, policy: { preapprove: made.fx.preapprove }, steps: made.fx.steps, hidden: undefined });
    // The limited key: only what names its own tools; the fx agent shown as the zz one is, names aside.
    const fx = await show(keys.limited!, 'ns-view-fx');
    expect(visible(fx.agent)).toEqual(limitedView);
    expect(JSON.stringify(fx)).not.toMatch(/fx_/);
    expect(visible((await show(keys.limited!, 'ns-view-zz')).agent)).toEqual(limitedView);

    const listed = await rest(keys.limited!, 'agent_list', {});
    const agents = (listed.body as { result: { agents: Array<Shown['agent']> } }).result.agents;
    expect(visible(agents.find((a) => a.name === 'ns-view-fx')!)).toEqual(limitedView);
    expect(JSON.stringify(agents)).not.toMatch(/\bfx_|\bzz_/);
    expect(JSON.stringify((await rest(keys.all!, 'agent_list', {})).body)).toContain('"fx_*"');

    // The resource reads through the caller's grant as the tool does.
    const read = async (key: string) => JSON.parse(((await (await session(key)).readResource({ uri: 'twl://agents/ns-view-fx' })).contents[0] as { text: string }).text) as Shown;
    expect(visible((await read(keys.limited!)).agent)).toEqual(limitedView);
    expect((await read(keys.all!)).agent.tools).toEqual(made.fx.tools);

    // Runs: the unlimited key's run (which read fx) is not among those the limited key is shown; its own is.
    expect((await rest(keys.all!, 'agent_run', { name: agentOf(HIDDEN), prompt: 'read it' })).status).toBe(200);
    await rest(keys.limited!, 'agent_run', { name: agentOf(HIDDEN), prompt: 'read it' });
    const theirs = (await show(keys.all!, agentOf(HIDDEN))).runs;
    const mine = (await show(keys.limited!, agentOf(HIDDEN))).runs;
    const unlimitedRun = theirs.find((r) => !mine.some((m) => m.id === r.id));
    expect(unlimitedRun, JSON.stringify(theirs)).toBeDefined();
    expect(mine.length).toBeGreaterThan(0);
    expect(mine.filter((r) => r.actor === unlimitedRun!.actor)).toEqual([]);
  });
  it('agent_activate and agent_run: a limited key activating a glob of another namespace gets what a glob matching nothing gets, and is not told a reason quoting one; an unlimited key is told precisely', async () => {
    // The limited key makes two agents alike but for their glob: fx's (another namespace) and zz's (nowhere).
    const answers: Record<string, { activated: Answer; again: Answer; ran: Answer }> = {};
    for (const ns of ['fx', 'zz']) {
      const name = `ns-act-${ns}`;
      const created = await rest(keys.limited!, 'agent_create', { name, kind: 'master', tools: [`${ns}_*`, 'tools_search'], steps: { tools: [{ tool: 'tools_search', input: { query: 'x' } }] } });
      expect(created.status, JSON.stringify(created.body)).toBe(200);
      answers[ns] = {
        activated: await rest(keys.limited!, 'agent_activate', { name }),
        again: await rest(keys.limited!, 'agent_activate', { name }),
        ran: await rest(keys.limited!, 'agent_run', { name, prompt: 'go' }),
      };
    }
    const same = (answer: unknown, ns: string) => JSON.stringify(answer).replaceAll(`ns-act-${ns}`, 'AGENT').replaceAll(`${ns}_`, 'NS_');
    expect(same(answers.fx, 'fx')).toBe(same(answers.zz, 'zz'));
    expect(answers.fx!.activated).toMatchObject({ body: { error: { code: 'TWL_AGENT_STATE' } } });
    expect(JSON.stringify(answers.fx!.activated.body)).toContain('one of its tool globs matches no tool');
    expect(JSON.stringify(answers)).not.toMatch(/\bfx_|\bzz_/);

    // The unlimited key: fx's glob matches a tool (the agent becomes active), zz's is named.
    expect((await rest(keys.all!, 'agent_activate', { name: 'ns-act-fx' })).status).toBe(200);
    const zz = await rest(keys.all!, 'agent_activate', { name: 'ns-act-zz' });
    expect(JSON.stringify(zz.body)).toContain('the tool glob \\"zz_*\\" matches no tool of the catalog');
    // Its reason now quotes zz_*: the unlimited key's run is told it, the limited key's is not.
    expect(JSON.stringify((await rest(keys.all!, 'agent_run', { name: 'ns-act-zz', prompt: 'go' })).body)).toContain('zz_*');
    const ran = await rest(keys.limited!, 'agent_run', { name: 'ns-act-zz', prompt: 'go' });
    expect(ran).toMatchObject({ body: { error: { code: 'TWL_AGENT_STATE' } } });
    expect(JSON.stringify(ran.body)).not.toContain('zz_');
  });
});
