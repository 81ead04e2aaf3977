import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { invoke } from '../../src/ops/invoke.js';
import agentsOp from '../../src/ops/maestro/agents.js';
import chatOp from '../../src/ops/maestro/chat.js';
import generateOp from '../../src/ops/maestro/generate.js';
import classifyOp from '../../src/ops/ticket/classify.js';
import { classify } from '../../src/agents/triage/engine.js';
import createOp from '../../src/ops/ticket/create.js';
import resolveOp from '../../src/ops/ticket/resolve.js';
import showOp from '../../src/ops/ticket/show.js';
import type { Runtime } from '../../src/runtime/context.js';
import { registry } from '../../src/runtime/metrics.js';
import { FakeOllama, type ChatRequest } from '../fixtures/ollama-server.js';
import { tempHome, testRuntime } from '../helpers.js';

describe('with an LLM (an Ollama-speaking server)', () => {
  let ollama: FakeOllama;
  let runtime: Runtime;
  let cleanup: () => void;
  beforeAll(async () => {
    ollama = await new FakeOllama().start();
    const t = tempHome();
    cleanup = t.cleanup;
    runtime = testRuntime(t.home, { llm: { host: ollama.url, model: 'llama3.1:8b', timeout: '5s' }, database: { targets: { billing: { url: 'postgres://ops@127.0.0.1:1/billing' } } } });
  });
  afterAll(async () => {
    await runtime.close();
    await ollama.stop();
    cleanup();
  });

  it('gives up on an answer that does not come within llm.timeout (the request is stopped, not waited for)', async () => {
    const t = tempHome();
    const impatient = testRuntime(t.home, { llm: { host: ollama.url, model: 'llama3.1:8b', timeout: '300ms' } });
    // Far longer than the test's own timeout: only an aborted request lets the call return.
    ollama.chatDelay = () => 60_000;
    try {
      await expect(invoke(chatOp, impatient, { message: 'are you there?' })).rejects.toMatchObject({ code: 'TWL_LLM_UNAVAILABLE', message: expect.stringContaining('no answer within 300 ms') });
    } finally {
      ollama.chatDelay = undefined;
      await impatient.close();
      t.cleanup();
    }
  });

  it('uses a valid LLM classification', async () => {
    ollama.onChat({ content: JSON.stringify({ category: 'network', priority: 'urgent', reason: 'the VPN concentrator is down for everyone' }) });
    const r = await invoke(classifyOp, runtime, { ticket_text: 'Personne ne peut se connecter au VPN' });
    expect(r).toMatchObject({ method: 'llm', category: 'network', priority: 'urgent', fallback: null });
    expect(r.reasons[0]).toMatch(/LLM \(llama3.1:8b, 6 nearest labelled tickets as examples\): the VPN concentrator/);
    const sent = ollama.chats().at(-1)!;
    // The answer is held to the taxonomy by Ollama's structured output, and checked again here.
    expect(sent.format).toMatchObject({ properties: { category: { enum: expect.arrayContaining(['network', 'storage']) }, priority: { enum: ['urgent', 'high', 'medium', 'low'] } } });
    expect(sent.messages[0]!.content).toContain('storage: disk full');
    // Few-shot: labelled tickets near this one, as JSON lines (at most two per category).
    const shots = sent.messages[0]!.content.split('\n').filter((l) => l.startsWith('{"ticket"')).map((l) => JSON.parse(l) as { ticket: string; category: string });
    expect(shots).toHaveLength(6);
    expect(shots.some((s) => /VPN/i.test(s.ticket))).toBe(true);
  });

  it('records a disagreement between the LLM and the model', async () => {
    ollama.onChat({ content: JSON.stringify({ category: 'hardware', priority: 'low', reason: 'sounds like a cable' }) });
    const r = await invoke(classifyOp, runtime, { ticket_text: 'Le VPN ne se connecte plus, passerelle injoignable' });
    expect(r).toMatchObject({ method: 'llm', category: 'hardware', disagreement: { llm: { category: 'hardware', priority: 'low' }, model: { category: 'network' } } });
    expect(r.reasons.join(' ')).toMatch(/disagrees with the model: network/);
  });

  it('records no disagreement when the LLM agrees', async () => {
    const text = 'Wi-Fi drops every ten minutes in building B';
    const model = classify(text);
    ollama.onChat({ content: JSON.stringify({ category: model.category, priority: model.priority, reason: 'the access points' }) });
    const r = await invoke(classifyOp, runtime, { ticket_text: text });
    expect(r).toMatchObject({ method: 'llm', category: model.category, priority: model.priority, disagreement: null });
    expect(r.reasons.join(' ')).toMatch(/agrees with the model/);
  });

  it('falls back to the rules when the LLM answers outside the taxonomy, and the timeline says why', async () => {
    ollama.onChat({ content: JSON.stringify({ category: 'printers', priority: 'high', reason: 'looks like a printer' }) });
    const t = await invoke(createOp, runtime, { text: "L'imprimante du 3e étage ne veut plus imprimer en couleur." });
    const r = await invoke(classifyOp, runtime, { ticket_id: t.id });
    expect(r.method).toBe('rules');
    expect(r.fallback).toMatch(/category "printers", which is not in the taxonomy/);
    expect(['hardware', 'application', 'server', 'network', 'database', 'security', 'access', 'email', 'storage', 'other']).toContain(r.category);
    const event = (await invoke(showOp, runtime, { id: t.id })).timeline.find((e: { kind: string }) => e.kind === 'classification');
    expect(event).toMatchObject({ status: 'failed', decision: expect.stringMatching(/fallback: the LLM answered category "printers"/) });
  });

  it('falls back when the LLM answers with something that is not JSON', async () => {
    ollama.onChat({ content: 'I think it is a network problem.' });
    const r = await invoke(classifyOp, runtime, { ticket_text: 'Wi-Fi drops every ten minutes in building B' });
    expect(r.method).toBe('rules');
    expect(r.fallback).toMatch(/did not answer usably/);
  });

  it('chats and generates through the model', async () => {
    ollama.onChat({ content: 'Use pg_locks joined with pg_stat_activity.' });
    const chat = await invoke(chatOp, runtime, { message: 'Who holds the lock?', history: [{ role: 'system', content: 'Be brief.' }] });
    expect(chat).toMatchObject({ reply: 'Use pg_locks joined with pg_stat_activity.', model: 'llama3.1:8b' });
    expect(ollama.chats().at(-1)!.messages.map((m) => m.role)).toEqual(['system', 'user']);
    expect(await invoke(generateOp, runtime, { prompt: 'Status note for a VPN outage' })).toMatchObject({ text: 'generated: Status note for a VPN outage' });
  });

  it('lists the agents with the LLM reachable', async () => {
    const r = await invoke(agentsOp, runtime, {});
    expect(r.llm).toMatchObject({ configured: true, reachable: true, detail: expect.stringMatching(/Ollama 0.12.0-test/) });
    expect(r.agents.find((a: { name: string }) => a.name === 'maestro')).toMatchObject({ status: 'ready', tools: expect.arrayContaining(['maestro_chat', 'maestro_orchestrate']) });
  });

  it("lets Maestro investigate with read-only tools, recording each call and the diagnosis", async () => {
    ollama.onChat((req: ChatRequest) => {
      if (req.format) return { content: JSON.stringify({ category: 'database', priority: 'high', reason: 'billing database' }) };
      if (!req.messages.some((m) => m.role === 'tool')) return { tool_calls: [{ function: { name: 'database_db_health', arguments: { target: 'billing' } } }, { function: { name: 'cache_cache_delete', arguments: { key: 'x' } } }] };
      return { content: 'The billing database does not answer on its port; restart it or fail over.' };
    });
    const before = (await registry.getSingleMetric('maestro_decisions_total')!.get()).values.find((v) => v.labels.decision_type === 'llm_tool_call')?.value ?? 0;
    const t = await invoke(createOp, runtime, { text: 'The billing database is unreachable since 10:00.' });
    const r = await invoke(resolveOp, runtime, { ticket_id: t.id });
    expect(r.plan.planner).toBe('llm');
    expect(r.diagnosis).toBe('The billing database does not answer on its port; restart it or fail over.');
    expect(r.steps[0]).toMatchObject({ tool: 'database_db_health', purpose: 'LLM check 1', finding: expect.stringMatching(/billing is unreachable/) });
    expect(r.outcome).toBe('escalated');
    expect(r.summary).toMatch(/LLM diagnosis: The billing database/);
    // The tool list offered to the model holds read-only tools only, and a write it asks for is refused.
    const offered = ollama.chats().find((c) => c.tools)!.tools!.map((t) => t.function.name);
    expect(offered).toContain('database_db_health');
    expect(offered).not.toContain('cache_cache_delete');
    const refusal = ollama.chats().at(-1)!.messages.find((m) => m.role === 'tool' && m.content.includes('not a tool you may call'));
    expect(refusal).toBeDefined();
    const after = (await registry.getSingleMetric('maestro_decisions_total')!.get()).values.find((v) => v.labels.decision_type === 'llm_tool_call')!.value;
    expect(after - before).toBe(2);
  });
});

describe('without a reachable LLM', () => {
  it('chat fails clearly, classification falls back, and the agents say so', async () => {
    const t = tempHome();
    const unconfigured = testRuntime(t.home);
    await expect(invoke(chatOp, unconfigured, { message: 'hi' })).rejects.toMatchObject({ code: 'TWL_LLM_UNAVAILABLE', actions: [expect.stringMatching(/TWL_LLM_HOST/)] });
    const down = testRuntime(t.home, { llm: { host: 'http://127.0.0.1:1', timeout: '2s' } });
    await expect(invoke(generateOp, down, { prompt: 'x' })).rejects.toMatchObject({ code: 'TWL_LLM_UNAVAILABLE', message: expect.stringMatching(/LLM unavailable at http:\/\/127.0.0.1:1/) });
    const r = await invoke(classifyOp, down, { ticket_text: 'Server is down' });
    expect(r).toMatchObject({ method: 'rules', fallback: expect.stringMatching(/LLM unavailable at http:\/\/127.0.0.1:1/) });
    const agents = await invoke(agentsOp, down, {});
    expect(agents.llm.reachable).toBe(false);
    expect(agents.agents.find((a: { name: string }) => a.name === 'maestro')?.status).toBe('degraded');
    await unconfigured.close();
    await down.close();
    t.cleanup();
  });
});
