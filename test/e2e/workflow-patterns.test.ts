import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { CreateMessageRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeOllama, type ChatRequest } from '../fixtures/ollama-server.js';
import { bin, envelope, inheritedEnv, root, tempHome, twl } from '../helpers.js';

/**
 * The six workflow patterns end to end: chain, gate, route, parallel, orchestrator and evaluate,
 * each through `twl workflow run` (the built bin) and through MCP (`workflow_<name>`, the official
 * SDK client on `twl serve --stdio`), with twl's own tools on the embedded store and a server
 * speaking Ollama's API as the model (or the MCP client's model through sampling).
 */

type StepRecord = { path: string; kind: string; status: string; decision?: string; error?: { code: string; message: string } };
type Decision = { decision: string; detail?: Record<string, unknown> } | null;
type RunResult = { run: number | string; workflow: string; status: string; output: unknown; step?: string | null; error?: { code: string; message: string } | null; steps: StepRecord[] };

const workflows: Record<string, string> = {
  // Prompt chaining: the model's structured answer feeds a tool, whose output feeds the next prompt.
  'prompt-chain': `
name: prompt-chain
title: Prompt chain
input: { type: object, properties: { text: { type: string } }, required: [text] }
output: steps.reply
steps:
  - id: extract
    kind: llm
    prompt: "Extract the host and the symptom from: {{ input.text }}"
    format: { type: object, properties: { host: { type: string }, symptom: { type: string } }, required: [host, symptom] }
    retries: 2
  - { id: remember, kind: tool, tool: cache_cache_set, input: { key: "incident:{{ steps.extract.host }}", value: "{{ steps.extract.symptom }}" } }
  - { id: recall, kind: tool, tool: cache_cache_get, input: { key: "incident:{{ steps.extract.host }}" } }
  - { id: reply, kind: llm, prompt: "One line for the on-call about {{ steps.extract.host }}: {{ steps.recall.value }}" }
`,
  // A gate that stops a chain.
  'gated-chain': `
name: gated-chain
input: { type: object, properties: { key: { type: string } }, required: [key] }
steps:
  - id: seq
    kind: chain
    steps:
      - { id: look, kind: tool, tool: cache_cache_get, input: { key: "{{ input.key }}" } }
      - { id: stop_if_missing, kind: gate, if: "steps.look.found = false", then: stop, message: "nothing stored under {{ input.key }}" }
      - { id: mark, kind: tool, tool: cache_cache_set, input: { key: "{{ input.key }}:seen", value: "yes" } }
`,
  // Orchestrator-workers: the model plans cache writes; the plan is checked before anything runs.
  'warm-cache': `
name: warm-cache
input: { type: object, properties: { goal: { type: string } }, required: [goal] }
steps:
  - id: plan
    kind: orchestrator
    planner: { llm: { prompt: "{{ input.goal }}", tools: ["cache_cache_set", "cache_cache_get"] } }
    maxCalls: 3
    concurrency: 2
`,
  // Evaluator-optimizer: the model drafts, the model scores, the draft is refined with the feedback.
  'status-note': `
name: status-note
input: { type: object, properties: { incident: { type: string } }, required: [incident] }
output: steps.note
steps:
  - id: note
    kind: evaluate
    generate: { id: write, kind: llm, prompt: "Status note for {{ input.incident }} (round {{ round }}){{ previous ? ': fix ' & previous.feedback : '' }}" }
    evaluate: { llm: { criteria: "Mentions the impact and the next update time." } }
    minScore: 0.8
    maxRounds: 3
`,
};

/** Scripts the model: drafts as text, scores (format asked) in the order given. */
function scoreScript(ollama: FakeOllama, scores: number[]) {
  let scored = 0;
  let drafted = 0;
  ollama.onNextChats((req: ChatRequest) => {
    if (req.format) return { content: JSON.stringify({ score: scores[Math.min(scored++, scores.length - 1)], feedback: `say when the next update is (review ${scored})` }) };
    return { content: `draft ${++drafted}` };
  });
}

describe('the six workflow patterns, end to end', () => {
  let home: string;
  let cleanup: () => void;
  let ollama: FakeOllama;
  let service: http.Server;
  let client: Client;

  const run = async (name: string, input: Record<string, unknown>, extra: string[] = []) => {
    const r = await twl(['workflow', 'run', name, '--input', JSON.stringify(input), '--json', ...extra], { home, timeout: 90_000 });
    const env = envelope(r.stdout);
    return { exitCode: r.exitCode, stderr: r.stderr, env, result: (env.result ?? (env.error as { details?: unknown } | undefined)?.details) as RunResult | undefined };
  };
  const viaMcp = async (name: string, input: Record<string, unknown>) => {
    const r = await client.callTool({ name, arguments: input });
    return { isError: Boolean(r.isError), structured: r.structuredContent as RunResult | undefined, text: (r.content as Array<{ text?: string }>).map((c) => c.text ?? '').join('\n') };
  };
  const cacheValue = async (key: string) => envelope((await twl(['cache', 'get', key, '--json'], { home })).stdout).result as { found: boolean; value?: string };
  const stepOf = (r: RunResult | undefined, p: string) => r?.steps.find((s) => s.path === p);
  /** A step's recorded decision with its detail, by `twl workflow show` (CLI) or `workflow_show` (MCP). */
  const decisionOf = async (r: RunResult | undefined, p: string, over: 'cli' | 'mcp' = 'cli'): Promise<Decision> => {
    const shown =
      over === 'cli'
        ? envelope((await twl(['workflow', 'show', String(r!.run), '--json'], { home })).stdout).result
        : (await client.callTool({ name: 'workflow_show', arguments: { run: r!.run } })).structuredContent;
    return (shown as { steps: Array<{ path: string; decision: Decision }> }).steps.find((s) => s.path === p)?.decision ?? null;
  };

  beforeAll(async () => {
    ({ home, cleanup } = tempHome('twl-wf-patterns-'));
    ollama = await new FakeOllama().start();
    service = http.createServer((_req, res) => res.end('ok'));
    await new Promise<void>((resolve) => service.listen(0, '127.0.0.1', resolve));
    writeFileSync(
      path.join(home, '.twlrc.json'),
      JSON.stringify({
        llm: { host: ollama.url, model: 'llama3.1:8b', timeout: '10s' },
        services: [{ name: 'api', kind: 'http', target: `http://127.0.0.1:${(service.address() as AddressInfo).port}/health` }],
        docker: { socket: path.join(home, 'no-docker.sock') },
      }),
    );
    mkdirSync(path.join(home, 'workflows'));
    for (const [name, text] of Object.entries(workflows)) writeFileSync(path.join(home, 'workflows', `${name}.yaml`), text);
    for (const example of ['incident-fanout', 'ticket-router', 'postmortem-draft']) copyFileSync(path.join(root, 'docs', 'workflows', `${example}.yaml`), path.join(home, 'workflows', `${example}.yaml`));
    client = new Client({ name: 'twl-wf-test', version: '1.0.0' });
    await client.connect(new StdioClientTransport({ command: process.execPath, args: [bin, 'serve', '--stdio'], env: { ...inheritedEnv(), TWL_HOME: home, HOME: home }, cwd: home, stderr: 'ignore' }));
  });
  afterAll(async () => {
    await client?.close();
    await ollama?.stop();
    service?.close();
    cleanup?.();
  });

  it('serves every workflow as an MCP tool with its input schema', async () => {
    const { tools } = await client.listTools();
    const names = tools.map((t) => t.name);
    for (const n of ['workflow_prompt_chain', 'workflow_gated_chain', 'workflow_warm_cache', 'workflow_status_note', 'workflow_incident_fanout', 'workflow_ticket_router', 'workflow_postmortem_draft']) expect(names).toContain(n);
    expect(tools.find((t) => t.name === 'workflow_ticket_router')!.inputSchema).toMatchObject({ type: 'object', required: ['text'] });
  });

  describe('chain (prompt chaining) with the bounded retry', () => {
    it('retries a model answering non-JSON, then chains its JSON into tools and the next prompt (CLI)', async () => {
      const before = ollama.chats().length;
      ollama.onNextChats({ content: 'The host is db-2, its disk is full.' }, { content: '{"host":"db-2","symptom":"disk full"}' }, { content: 'db-2: disk full, cleaning /var/log now.' });
      const { exitCode, result } = await run('prompt-chain', { text: 'db-2 says no space left on device' });
      expect(exitCode).toBe(0);
      expect(result).toMatchObject({ status: 'completed', output: 'db-2: disk full, cleaning /var/log now.' });
      expect(await decisionOf(result, 'extract')).toMatchObject({ decision: 'answered', detail: { attempts: 2, refused: [expect.stringMatching(/^the answer is not JSON/)], prompt: 'Extract the host and the symptom from: db-2 says no space left on device' } });
      const sent = ollama.chats().slice(before);
      expect(sent).toHaveLength(3);
      expect(sent[1]!.messages.at(-1)!.content).toMatch(/^That answer cannot be used: the answer is not JSON/);
      expect(sent[2]!.messages.at(-1)!.content).toBe('One line for the on-call about db-2: disk full');
      expect(await cacheValue('incident:db-2')).toMatchObject({ found: true, value: 'disk full' });
    });

    it('fails clearly when the model exceeds the bound, and over MCP the same', async () => {
      ollama.onNextChats({ content: 'I cannot answer in JSON, sorry.' });
      const before = ollama.chats().length;
      const cli = await run('prompt-chain', { text: 'web-1 is slow' });
      expect(cli.exitCode).not.toBe(0);
      expect(ollama.chats().length - before).toBe(3);
      expect(cli.env.error).toMatchObject({ code: 'TWL_WORKFLOW_FAILED', message: expect.stringMatching(/^Workflow prompt-chain \(run \d+\) failed.*extract.*The model llama3\.1:8b \(ollama\) gave no usable answer in 3 attempts: 1\) the answer is not JSON/) });
      expect(stepOf(cli.result, 'extract')).toMatchObject({ status: 'failed', error: { code: 'TWL_LLM_OUTPUT_INVALID' } });
      expect(stepOf(cli.result, 'remember')).toBeUndefined();
      const mcp = await viaMcp('workflow_prompt_chain', { text: 'web-1 is slow' });
      expect(mcp.isError).toBe(true);
      expect(mcp.text).toMatch(/no usable answer in 3 attempts/);
    });

    it('retries within the bound over MCP', async () => {
      ollama.onNextChats({ content: '```json\n{"host": "mq-1",\n' }, { content: '```json\n{"host":"mq-1","symptom":"queue full"}\n```' }, { content: 'mq-1: queue full.' });
      const mcp = await viaMcp('workflow_prompt_chain', { text: 'mq-1 queue is full' });
      expect(mcp.isError).toBe(false);
      expect(mcp.structured).toMatchObject({ status: 'completed', output: 'mq-1: queue full.' });
      expect(await decisionOf(mcp.structured, 'extract', 'mcp')).toMatchObject({ decision: 'answered', detail: { attempts: 2 } });
    });
  });

  describe('gate', () => {
    // The CLI side is in workflows.test.ts (wfengine): here, the same over MCP.
    it('stops a chain over MCP: the steps after it do not run; it passes when its condition is false', async () => {
      const stopped = await viaMcp('workflow_gated_chain', { key: 'gate:absent' });
      expect(stopped.isError).toBe(false);
      expect(stopped.structured).toMatchObject({ status: 'stopped', step: 'seq/stop_if_missing' });
      expect(stepOf(stopped.structured, 'seq/stop_if_missing')).toMatchObject({ status: 'stopped', decision: 'stop' });
      expect(stepOf(stopped.structured, 'seq/mark')).toBeUndefined();
      expect((await cacheValue('gate:absent:seen')).found).toBe(false);
      await twl(['cache', 'set', 'gate:present', 'x'], { home });
      const passed = await viaMcp('workflow_gated_chain', { key: 'gate:present' });
      expect(passed.structured).toMatchObject({ status: 'completed' });
      expect(stepOf(passed.structured, 'seq/stop_if_missing')).toMatchObject({ decision: 'pass' });
      expect((await cacheValue('gate:present:seen')).value).toBe('yes');
    });
  });

  describe('route (the ticket router example)', () => {
    it('takes a route by its rules without asking the model (CLI)', async () => {
      const before = ollama.chats().length;
      const { exitCode, result } = await run('ticket-router', { text: 'Disk full on db-2, no space left' });
      expect(exitCode).toBe(0);
      expect(result).toMatchObject({ status: 'completed', output: { route: 'storage', by: 'rule' } });
      expect(stepOf(result, 'runbook')!.decision).toBe('route storage (by rule)');
      expect(await decisionOf(result, 'runbook')).toMatchObject({ detail: { route: 'storage', by: 'rule', rule: 0 } });
      expect(stepOf(result, 'runbook/disks')).toMatchObject({ status: 'completed' });
      expect(ollama.chats().length).toBe(before);
    });

    it('takes a route chosen by the model when no rule holds (CLI and MCP)', async () => {
      ollama.onNextChats({ content: '{"label":"database","reason":"slow queries"}' });
      const { result } = await run('ticket-router', { text: 'The billing reports take forever to load' });
      expect(result).toMatchObject({ status: 'completed', output: { route: 'database', by: 'llm', reason: 'slow queries' } });
      expect(stepOf(result, 'runbook/db_check')).toMatchObject({ status: 'completed' });
      expect(ollama.chats().at(-1)!.format).toMatchObject({ properties: { label: { enum: ['storage', 'database', 'network', 'triage'] } } });
      ollama.onNextChats({ content: 'network' });
      const mcp = await viaMcp('workflow_ticket_router', { text: 'Users in Lyon cannot reach the intranet' });
      expect(mcp.structured).toMatchObject({ status: 'completed', output: { route: 'network', by: 'llm' } });
    });
  });

  describe('parallel (the incident fan-out example)', () => {
    it('fans out with the model writing the summary; a failing check is reported (CLI)', async () => {
      ollama.onNextChats({ content: 'api is up; logs unavailable (no Docker); database fine.' });
      const { exitCode, result } = await run('incident-fanout', { service: 'api' });
      expect(exitCode).toBe(0);
      expect(result).toMatchObject({ status: 'completed', output: 'api is up; logs unavailable (no Docker); database fine.' });
      expect(stepOf(result, 'gather')!.decision).toBe('3 of 4 branches ok');
      expect(stepOf(result, 'gather/logs')).toMatchObject({ status: 'failed' });
      expect(stepOf(result, 'summary')!.decision).toBe('answered');
      const prompt = ollama.chats().at(-1)!.messages.at(-1)!.content;
      expect(prompt).toMatch(/Write an incident summary for the service api/);
      expect(prompt).toMatch(/"failed"/);
    });
  });

  describe('orchestrator', () => {
    it('rejects an invalid plan with the reason before anything runs (CLI), runs a valid one (MCP)', async () => {
      ollama.onNextChats({ content: JSON.stringify({ calls: [{ tool: 'cache_cache_set', input: { key: 'warm:bad', value: '1' } }, { tool: 'database_execute_query', input: { sql: 'select 1' } }] }) });
      const bad = await run('warm-cache', { goal: 'Warm the cache for the incident' });
      expect(bad.exitCode).not.toBe(0);
      expect(JSON.stringify(bad.env.error)).toMatch(/rejected, nothing ran: call 2 \(\\"database_execute_query\\"\): the tool is outside the allowed tools \(cache_cache_set, cache_cache_get\)/);
      expect((await cacheValue('warm:bad')).found).toBe(false);
      ollama.onNextChats({ content: JSON.stringify({ calls: [{ tool: 'cache_cache_set', input: { key: 'warm:a', value: 'A' } }, { tool: 'cache_cache_set', input: { key: 'warm:b', value: 'B' } }] }) });
      const good = await viaMcp('workflow_warm_cache', { goal: 'Warm the cache for the incident' });
      expect(good.isError).toBe(false);
      expect(good.structured).toMatchObject({ status: 'completed', output: { by: 'llm', ok: 2, failed: 0 } });
      expect(stepOf(good.structured, 'plan')!.decision).toBe('plan of 2 calls accepted (by llm)');
      expect(await decisionOf(good.structured, 'plan', 'mcp')).toMatchObject({ detail: { by: 'llm', calls: [{ tool: 'cache_cache_set', input: { key: 'warm:a', value: 'A' } }, { tool: 'cache_cache_set' }] } });
      expect((await cacheValue('warm:b')).value).toBe('B');
      ollama.onNextChats({ content: JSON.stringify({ calls: [{ tool: 'cache_cache_set', input: { key: 5 } }] }) });
      const badMcp = await viaMcp('workflow_warm_cache', { goal: 'x' });
      expect(badMcp.isError).toBe(true);
      expect(badMcp.text).toMatch(/the input does not match the tool's schema: .*\/key must be string/);
    });
  });

  describe('evaluate', () => {
    it('ends on its score (CLI) and on its round limit (MCP)', async () => {
      scoreScript(ollama, [0.5, 0.9]);
      const { result } = await run('status-note', { incident: 'INC-7' });
      expect(result).toMatchObject({ status: 'completed', output: { output: 'draft 2', score: 0.9, rounds: 2, endedBy: 'score' } });
      expect(stepOf(result, 'note')!.decision).toBe('ended on its score in round 2');
      expect(await decisionOf(result, 'note')).toMatchObject({ detail: { endedBy: 'score', rounds: [{ round: 1, score: 0.5 }, { round: 2, score: 0.9 }] } });
      expect(result!.steps.filter((s) => s.path === 'note/write')).toHaveLength(2);
      // The post-mortem example: the draft is rewritten with the evaluator's feedback.
      scoreScript(ollama, [0.6, 0.85]);
      const before = ollama.chats().length;
      const pm = await run('postmortem-draft', { incident: 'API 502s for 40 min after a deploy' });
      expect(pm.result).toMatchObject({ status: 'completed', output: { output: 'draft 2', score: 0.85, rounds: 2, endedBy: 'score' } });
      const drafts = ollama.chats().slice(before).filter((c) => !c.format);
      expect(drafts[0]!.messages.at(-1)!.content).toMatch(/Incident: API 502s for 40 min after a deploy\nTimeline: not given\nHealth now: (ok|degraded|down)\n+$/);
      expect(drafts[1]!.messages.at(-1)!.content).toMatch(/Your previous draft scored 0\.6\. Rewrite it, fixing this: say when the next update is \(review 1\)\n\nPrevious draft:\ndraft 1/);
      scoreScript(ollama, [0.2, 0.4, 0.3]);
      const mcp = await viaMcp('workflow_status_note', { incident: 'INC-8' });
      expect(mcp.structured).toMatchObject({ status: 'completed', output: { output: 'draft 2', score: 0.4, rounds: 3, endedBy: 'maxRounds' } });
      expect(stepOf(mcp.structured, 'note')!.decision).toBe('ended on its round limit (3) below 0.8');
    });
  });
});

describe('workflows without an LLM', () => {
  let home: string;
  let cleanup: () => void;
  let service: http.Server;
  beforeAll(async () => {
    ({ home, cleanup } = tempHome('twl-wf-nollm-'));
    service = http.createServer((_req, res) => res.end('ok'));
    await new Promise<void>((resolve) => service.listen(0, '127.0.0.1', resolve));
    writeFileSync(
      path.join(home, '.twlrc.json'),
      JSON.stringify({ services: [{ name: 'api', kind: 'http', target: `http://127.0.0.1:${(service.address() as AddressInfo).port}/` }], docker: { socket: path.join(home, 'no-docker.sock') } }),
    );
    mkdirSync(path.join(home, 'workflows'));
    for (const example of ['incident-fanout', 'ticket-router', 'postmortem-draft']) copyFileSync(path.join(root, 'docs', 'workflows', `${example}.yaml`), path.join(home, 'workflows', `${example}.yaml`));
    writeFileSync(path.join(home, 'workflows', 'prompt-chain.yaml'), workflows['prompt-chain']!);
  });
  afterAll(() => {
    service?.close();
    cleanup?.();
  });

  it('validates the three examples', async () => {
    const r = await twl(['workflow', 'validate', '--json'], { home });
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    const result = envelope(r.stdout).result as { valid: Array<{ name: string; tool: string; steps: number }>; problems: unknown[] };
    expect(result.problems).toEqual([]);
    expect(result.valid.map((v) => v.name).sort()).toEqual(['incident-fanout', 'postmortem-draft', 'prompt-chain', 'ticket-router']);
    expect(result.valid.find((v) => v.name === 'postmortem-draft')).toMatchObject({ tool: 'workflow_postmortem_draft', steps: 2 });
  });

  it('refuses broken LLM steps naming the file, the step and the problem', async () => {
    const file = path.join(home, 'broken.yaml');
    writeFileSync(
      file,
      [
        'name: broken',
        'steps:',
        '  - { id: ask, kind: llm, prompt: "hi", retries: 9 }',
        '  - id: pick',
        '    kind: route',
        '    rules: [ { when: "true", to: nowhere } ]',
        '    branches: { a: [ { id: s1, kind: tool, tool: cache_cache_get, input: { key: k } } ] }',
        '  - { id: plan, kind: orchestrator, planner: { map: "input.keys", call: { tool: cache_cache_sett } } }',
        '',
      ].join('\n'),
    );
    const r = await twl(['workflow', 'validate', file, '--json'], { home });
    expect(r.exitCode).not.toBe(0);
    const text = r.stdout;
    expect(text).toMatch(/broken\.yaml/);
    expect(text).toMatch(/ask[^\n]*retries[^\n]*(5|less than or equal)/i);
    expect(text).toMatch(/no branch named \\"nowhere\\" \(branches: a\)/);
    expect(text).toMatch(/cache_cache_sett/);
  });

  it('runs the incident fan-out deterministically: the template summary, the failing check reported', async () => {
    const r = await twl(['workflow', 'run', 'incident-fanout', '--input', '{"service":"api"}', '--json'], { home, timeout: 90_000 });
    expect(r.exitCode, r.stderr).toBe(0);
    const result = envelope(r.stdout).result as RunResult;
    expect(result.status).toBe('completed');
    const summary = result.output as string;
    expect(summary).toMatch(/^Incident summary for api \(3 of 4 checks answered\)\n- Health: ok \(api ok\)\n- Host: CPU [\d.]+%, memory [\d.]+%, fullest disk [\d.]+%\n- Logs: no answer\n- Database: reachable, [\d.]+ ms\nChecks that failed: logs \(.+\)\n$/);
    expect(result.steps.find((s) => s.path === 'summary')!.decision).toBe('fallback');
    expect(result.steps.find((s) => s.path === 'gather/logs')).toMatchObject({ status: 'failed' });
  });

  it('fails an llm step without a fallback clearly, naming the step and the fixes', async () => {
    const r = await twl(['workflow', 'run', 'prompt-chain', '--input', '{"text":"x"}', '--json'], { home });
    expect(r.exitCode).not.toBe(0);
    expect(r.stdout).toMatch(/Step extract of workflow prompt-chain needs an LLM \(an llm step\), and none is configured/);
  });

  it('routes by the default when no rule holds and no model can classify', async () => {
    const r = await twl(['workflow', 'run', 'ticket-router', '--input', '{"text":"The printer on floor 3 jams"}', '--json'], { home, timeout: 90_000 });
    expect(r.exitCode, r.stderr).toBe(0);
    const result = envelope(r.stdout).result as RunResult;
    expect(result.output).toMatchObject({ route: 'triage', by: 'default' });
    expect(result.steps.find((s) => s.path === 'runbook')!.decision).toBe('route triage (by default)');
    const shown = envelope((await twl(['workflow', 'show', String(result.run), '--json'], { home })).stdout).result as { steps: Array<{ path: string; decision: Decision }> };
    expect(shown.steps.find((s) => s.path === 'runbook')!.decision).toMatchObject({ detail: { by: 'default', llmProblem: 'no LLM is configured' } });
  });
});

describe('route by the MCP client\'s model (sampling), no Ollama configured', () => {
  it('asks the client to classify and takes its branch', async () => {
    const { home, cleanup } = tempHome('twl-wf-sampling-');
    try {
      writeFileSync(path.join(home, '.twlrc.json'), '{}');
      mkdirSync(path.join(home, 'workflows'));
      copyFileSync(path.join(root, 'docs', 'workflows', 'ticket-router.yaml'), path.join(home, 'workflows', 'ticket-router.yaml'));
      const client = new Client({ name: 'twl-wf-sampling', version: '1.0.0' }, { capabilities: { sampling: {} } });
      const asked: string[] = [];
      client.setRequestHandler(CreateMessageRequestSchema, async (request) => {
        asked.push(String(request.params.systemPrompt ?? ''));
        return { role: 'assistant', model: 'client-model', content: { type: 'text', text: '```json\n{"label":"network","reason":"connectivity"}\n```' } };
      });
      await client.connect(new StdioClientTransport({ command: process.execPath, args: [bin, 'serve', '--stdio'], env: { ...inheritedEnv(), TWL_HOME: home, HOME: home }, cwd: home, stderr: 'ignore' }));
      try {
        const r = await client.callTool({ name: 'workflow_ticket_router', arguments: { text: 'Users in Lyon cannot reach the intranet' } });
        expect(r.isError).toBeFalsy();
        expect(r.structuredContent).toMatchObject({ status: 'completed', output: { route: 'network', by: 'llm', reason: 'connectivity' } });
        expect(asked[0]).toMatch(/Answer with one JSON value only.*"enum":\["storage","database","network","triage"\]/s);
      } finally {
        await client.close();
      }
    } finally {
      cleanup();
    }
  });
});
