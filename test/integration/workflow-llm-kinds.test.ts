import jsonata from 'jsonata';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TwlError } from '../../src/runtime/errors.js';
import { Llm } from '../../src/runtime/llm.js';
import type { Runtime } from '../../src/runtime/context.js';
import { stepKinds } from '../../src/workflows/steps/index.js';
import type { StepBase, StepContext } from '../../src/workflows/types.js';
import { FakeOllama, type ChatRequest } from '../fixtures/ollama-server.js';
import { tempHome, testRuntime } from '../helpers.js';

/**
 * The LLM step kinds through a small StepContext over the real catalog (twl's own tools on the
 * embedded store) and a server speaking Ollama's API: what each kind decides, asks and calls. The
 * engine's own context (records, approvals, timeouts) is covered by the workflow e2e tests.
 */
interface Trace {
  decisions: Array<{ path: string; decision: string; detail?: unknown }>;
  calls: Array<{ tool: string; input: unknown }>;
  progress: string[];
}

const WHOLE = /^\s*\{\{([\s\S]+?)\}\}\s*$/;
async function evaluate(expr: string, scope: Record<string, unknown>): Promise<unknown> {
  const v: unknown = await jsonata(expr).evaluate(scope);
  return v === undefined ? null : v;
}
async function render(t: unknown, scope: Record<string, unknown>): Promise<unknown> {
  if (typeof t === 'string') {
    const whole = WHOLE.exec(t);
    if (whole) return evaluate(whole[1]!.trim(), scope);
    let out = t;
    for (const m of t.matchAll(/\{\{([\s\S]+?)\}\}/g)) {
      const v = await evaluate(m[1]!.trim(), scope);
      out = out.replace(m[0], v === null ? '' : typeof v === 'string' ? v : JSON.stringify(v));
    }
    return out;
  }
  if (Array.isArray(t)) return Promise.all(t.map((x) => render(x, scope)));
  if (t && typeof t === 'object') return Object.fromEntries(await Promise.all(Object.entries(t).map(async ([k, v]) => [k, await render(v, scope)])));
  return t;
}

function runner(runtime: Runtime, llm: Llm | undefined, input: Record<string, unknown>) {
  const trace: Trace = { decisions: [], calls: [], progress: [] };
  const steps: Record<string, unknown> = {};
  const controller = new AbortController();
  const run = async (raw: StepBase, extra: Record<string, unknown>, parent: string): Promise<unknown> => {
    const kind = stepKinds.get(raw.kind)!;
    const step = kind.schema.parse(raw);
    const path = parent ? `${parent}/${step.id}` : step.id;
    const scope = { ...extra, input, steps };
    const ctx: StepContext = {
      workflow: 'test',
      runId: '1',
      path,
      scope,
      evaluate: (e, more) => evaluate(e, { ...scope, ...more }),
      render: (t, more) => render(t, { ...scope, ...more }),
      callTool: async (name, toolInput) => {
        trace.calls.push({ tool: name, input: toolInput });
        const r = await runtime.tools.call(name, toolInput, { face: 'cli', actor: 'test', signal: controller.signal });
        return r.structured ?? r.content;
      },
      tools: () => runtime.tools.list(),
      runSteps: async (list, more) => {
        let last: unknown = null;
        for (const s of list) last = await run(s, { ...extra, ...more }, path);
        return last;
      },
      llm: () => llm,
      signal: controller.signal,
      progress: (m) => trace.progress.push(`${path}: ${m}`),
      ask: async () => undefined,
      decide: (decision, detail) => trace.decisions.push({ path, decision, ...(detail === undefined ? {} : { detail }) }),
    };
    const output = await kind.run(step, ctx);
    steps[step.id] = output;
    return output;
  };
  return { trace, steps, run: (raw: Record<string, unknown>) => run(raw as unknown as StepBase, {}, '') };
}

const cacheGet = async (runtime: Runtime, key: string) => (await runtime.tools.call('cache_cache_get', { key }, { face: 'cli', actor: 'test' })).structured as { found: boolean; value?: string };

describe('the LLM step kinds', () => {
  let ollama: FakeOllama;
  let runtime: Runtime;
  let llm: Llm;
  let cleanup: () => void;
  beforeAll(async () => {
    ollama = await new FakeOllama().start();
    const t = tempHome('twl-wfllm-');
    cleanup = t.cleanup;
    runtime = testRuntime(t.home);
    llm = new Llm(ollama.url, 'llama3.1:8b', 5000);
  });
  afterAll(async () => {
    await runtime.close();
    await ollama.stop();
    cleanup();
  });

  describe('llm', () => {
    it('renders its prompt, holds the answer to its format and records the attempts', async () => {
      const before = ollama.chats().length;
      ollama.onNextChats({ content: 'db-2 has a full disk' }, { content: '{"host":"db-2","symptom":"disk full"}' });
      const { run, trace } = runner(runtime, llm, { text: 'db-2: no space left on device' });
      const out = await run({ id: 'extract', kind: 'llm', prompt: 'Extract from: {{ input.text }}', format: { type: 'object', properties: { host: { type: 'string' }, symptom: { type: 'string' } }, required: ['host', 'symptom'] } });
      expect(out).toEqual({ host: 'db-2', symptom: 'disk full' });
      expect(ollama.chats()[before]!.messages.at(-1)!.content).toBe('Extract from: db-2: no space left on device');
      expect(trace.decisions).toEqual([{ path: 'extract', decision: 'answered', detail: { model: 'llama3.1:8b', via: 'ollama', attempts: 2, refused: [expect.stringMatching(/^the answer is not JSON/)], prompt: 'Extract from: db-2: no space left on device' } }]);
      expect(trace.progress.join('\n')).toMatch(/answer 1 refused \(the answer is not JSON .*\); asking again/);
    });

    it('fails clearly past its retries', async () => {
      ollama.onNextChats({ content: 'nope' });
      const { run, trace } = runner(runtime, llm, {});
      const err = (await run({ id: 'x', kind: 'llm', prompt: 'p', format: { type: 'object' }, retries: 1 }).catch((e: unknown) => e)) as TwlError;
      expect(err.code).toBe('TWL_LLM_OUTPUT_INVALID');
      expect(trace.decisions[0]).toMatchObject({ decision: 'refused', detail: { attempts: 2 } });
    });

    it('without an LLM: fails naming the step and the fixes, or uses its fallback template (recorded)', async () => {
      const { run, trace } = runner(runtime, undefined, { service: 'api' });
      const err = (await run({ id: 'summary', kind: 'llm', prompt: 'Summarise' }).catch((e: unknown) => e)) as TwlError;
      expect(err.code).toBe('TWL_LLM_UNAVAILABLE');
      expect(err.message).toBe('Step summary of workflow test needs an LLM (an llm step), and none is configured.');
      expect(err.actions.join(' ')).toMatch(/llm\.host.*sampling.*fallback/s);
      expect(await run({ id: 'summary2', kind: 'llm', prompt: 'Summarise', fallback: 'Service {{ input.service }}: see the checks.' })).toBe('Service api: see the checks.');
      expect(trace.decisions).toEqual([{ path: 'summary2', decision: 'fallback', detail: { reason: 'no LLM is configured' } }]);
    });

    it('uses the fallback when the configured server does not answer, never when the model answered badly', async () => {
      const down = new Llm('http://127.0.0.1:1', 'llama3.1:8b', 2000);
      const { run, trace } = runner(runtime, down, {});
      expect(await run({ id: 'a', kind: 'llm', prompt: 'p', fallback: 'template' })).toBe('template');
      expect(trace.decisions[0]).toMatchObject({ decision: 'fallback', detail: { reason: expect.stringMatching(/LLM unavailable at http:\/\/127\.0\.0\.1:1/) } });
      ollama.onNextChats({ content: 'not json' });
      const bad = runner(runtime, llm, {});
      await expect(bad.run({ id: 'b', kind: 'llm', prompt: 'p', format: { type: 'object' }, retries: 0, fallback: 'template' })).rejects.toMatchObject({ code: 'TWL_LLM_OUTPUT_INVALID' });
    });

    it('refuses an unusable format at run time', async () => {
      const { run } = runner(runtime, llm, {});
      await expect(run({ id: 'a', kind: 'llm', prompt: 'p', format: { type: 'objekt' } })).rejects.toMatchObject({ code: 'TWL_WORKFLOW_INVALID', message: expect.stringMatching(/format of step a .* not a valid JSON Schema/) });
    });
  });

  describe('route', () => {
    const route = (classify = true) => ({
      id: 'pick',
      kind: 'route',
      rules: [{ when: "$contains($lowercase(input.text), 'disk')", to: 'storage' }],
      ...(classify ? { classify: { prompt: 'Which runbook for: {{ input.text }}' } } : {}),
      default: 'triage',
      branches: {
        storage: [{ id: 'st', kind: 'tool', tool: 'cache_cache_set', input: { key: 'route:storage', value: '{{ input.text }}' } }],
        network: [{ id: 'nw', kind: 'tool', tool: 'cache_cache_set', input: { key: 'route:network', value: '{{ input.text }}' } }],
        triage: [{ id: 'tr', kind: 'tool', tool: 'cache_cache_get', input: { key: 'route:none' } }],
      },
    });

    it('takes a rule first, without asking the model', async () => {
      const before = ollama.chats().length;
      const { run, trace } = runner(runtime, llm, { text: 'Disk full on db-2' });
      const out = (await run(route())) as { route: string; by: string; output: unknown };
      expect(out).toMatchObject({ route: 'storage', by: 'rule', output: { key: 'route:storage', stored: true } });
      expect(ollama.chats().length).toBe(before);
      expect(trace.decisions.find((d) => d.path === 'pick')).toEqual({ path: 'pick', decision: 'route storage (by rule)', detail: { route: 'storage', by: 'rule', rule: 0, reason: "$contains($lowercase(input.text), 'disk')" } });
      expect((await cacheGet(runtime, 'route:storage')).value).toBe('Disk full on db-2');
    });

    it('asks the model, held to the branch names, when no rule holds', async () => {
      ollama.onNextChats({ content: '{"label":"network","reason":"the VPN is down"}' });
      const { run, trace } = runner(runtime, llm, { text: 'VPN drops every hour' });
      const out = await run(route());
      expect(out).toMatchObject({ route: 'network', by: 'llm', reason: 'the VPN is down' });
      const sent = ollama.chats().at(-1)! as ChatRequest;
      expect(sent.format).toMatchObject({ properties: { label: { enum: ['storage', 'network', 'triage'] } } });
      expect(sent.messages.at(-1)!.content).toMatch(/^Which runbook for: VPN drops every hour\n\nChoose exactly one of: storage, network, triage\./);
      expect(trace.decisions.find((d) => d.path === 'pick')).toMatchObject({ decision: 'route network (by llm)', detail: { by: 'llm', attempts: 1 } });
      expect((await cacheGet(runtime, 'route:network')).value).toBe('VPN drops every hour');
    });

    it('falls to the default when there is no model or it cannot choose, saying why', async () => {
      const none = runner(runtime, undefined, { text: 'printer jam' });
      expect(await none.run(route())).toMatchObject({ route: 'triage', by: 'default' });
      expect(none.trace.decisions.find((d) => d.path === 'pick')).toMatchObject({ detail: { by: 'default', llmProblem: 'no LLM is configured' } });
      ollama.onNextChats({ content: '{"label":"hardware"}' });
      const wrong = runner(runtime, llm, { text: 'printer jam' });
      expect(await wrong.run({ ...route(), classify: { prompt: 'p', retries: 1 } })).toMatchObject({ route: 'triage', by: 'default' });
      expect(wrong.trace.decisions.find((d) => d.path === 'pick')).toMatchObject({ detail: { llmProblem: expect.stringMatching(/no usable answer in 2 attempts/) } });
    });

    it('fails when nothing routes and there is no default; refuses branches that do not exist', async () => {
      const { run } = runner(runtime, undefined, { text: 'printer jam' });
      const { default: _d, ...noDefault } = route(false);
      await expect(run(noDefault)).rejects.toMatchObject({ code: 'TWL_WORKFLOW_STEP_FAILED', message: expect.stringMatching(/No route at pick of workflow test: no rule held, and there is no default/) });
      const parsed = stepKinds.get('route')!.schema.safeParse({ ...route(), default: 'nowhere', rules: [{ when: 'true', to: 'elsewhere' }] });
      expect(parsed.success).toBe(false);
      expect(parsed.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`)).toEqual([
        'rules.0.to: no branch named "elsewhere" (branches: storage, network, triage)',
        'default: no branch named "nowhere" (branches: storage, network, triage)',
      ]);
    });
  });

  describe('orchestrator', () => {
    const orchestrator = { id: 'plan', kind: 'orchestrator', planner: { llm: { prompt: 'Remember the incident {{ input.id }}', tools: ['cache_cache_set', 'cache_cache_get'] } }, maxCalls: 3, concurrency: 2 };

    it('rejects an invalid plan with every reason before any call runs', async () => {
      ollama.onNextChats({
        content: JSON.stringify({
          calls: [
            { tool: 'cache_cache_set', input: { key: 'orch:bad', value: 'x' } },
            { tool: 'database_execute_query', input: { sql: 'select 1' } },
            { tool: 'cache_cache_set', input: { key: 7 } },
          ],
        }),
      });
      const { run, trace } = runner(runtime, llm, { id: 'INC-1' });
      const err = (await run(orchestrator).catch((e: unknown) => e)) as TwlError;
      expect(err.code).toBe('TWL_WORKFLOW_PLAN_INVALID');
      expect(err.message).toMatch(/^The plan of plan \(workflow test, by llm\) was rejected, nothing ran: call 2 \("database_execute_query"\): the tool is outside the allowed tools \(cache_cache_set, cache_cache_get\); call 3 \("cache_cache_set"\): the input does not match the tool's schema: .*\/key must be string/);
      expect(trace.calls).toEqual([]);
      expect((await cacheGet(runtime, 'orch:bad')).found).toBe(false);
      expect(trace.decisions[0]).toMatchObject({ decision: 'plan rejected', detail: { by: 'llm', problems: expect.any(Array) } });
      // The planner saw the allowed tools with their schemas, and was held to their names and the bound.
      const sent = ollama.chats().at(-1)!;
      expect(sent.format).toMatchObject({ properties: { calls: { maxItems: 3, items: { properties: { tool: { enum: ['cache_cache_get', 'cache_cache_set'] } } } } } });
      expect(sent.messages.at(-1)!.content).toMatch(/Remember the incident INC-1[\s\S]*- cache_cache_set: [\s\S]*input schema: \{/);
      expect(sent.messages.at(-1)!.content).not.toMatch(/database_execute_query/);
    });

    it('runs a valid plan with its bound and reports each call', async () => {
      ollama.onNextChats({ content: '```json\n{"calls":[{"tool":"cache_cache_set","input":{"key":"orch:a","value":"1"},"why":"remember"},{"tool":"cache_cache_set","input":{"key":"orch:b","value":"{{ input.id }}"}},{"tool":"cache_cache_get","input":{"key":"orch:none"}}]}\n```' });
      const { run, trace } = runner(runtime, llm, { id: 'INC-2' });
      const out = (await run(orchestrator)) as { calls: Array<{ tool: string; status: string; output: unknown }>; ok: number; failed: number };
      expect(out).toMatchObject({ by: 'llm', ok: 3, failed: 0 });
      expect(out.calls.map((c) => c.status)).toEqual(['ok', 'ok', 'ok']);
      expect(trace.decisions[0]).toMatchObject({ decision: 'plan of 3 calls accepted (by llm)' });
      expect((await cacheGet(runtime, 'orch:a')).value).toBe('1');
      // A planned input is never rendered as a template: the model's text reaches the tool as it is.
      expect((await cacheGet(runtime, 'orch:b')).value).toBe('{{ input.id }}');
    });

    it('plans by a map rule without an LLM, and rejects a list longer than maxCalls without rendering it', async () => {
      const step = { id: 'warm', kind: 'orchestrator', planner: { map: 'input.keys', call: { tool: 'cache_cache_set', input: { key: 'map:{{ item }}', value: 'v{{ index }}' } } }, maxCalls: 3 };
      const ok = runner(runtime, undefined, { keys: ['x', 'y'] });
      expect(await ok.run(step)).toMatchObject({ by: 'map', ok: 2 });
      expect((await cacheGet(runtime, 'map:y')).value).toBe('v1');
      const many = runner(runtime, undefined, { keys: ['a', 'b', 'c', 'd', 'e'] });
      await expect(many.run(step)).rejects.toMatchObject({ code: 'TWL_WORKFLOW_PLAN_INVALID', message: expect.stringMatching(/it plans 5 calls, more than maxCalls \(3\)/) });
      expect(many.trace.calls).toEqual([]);
    });

    it('needs an LLM for an llm planner', async () => {
      const { run } = runner(runtime, undefined, {});
      await expect(run(orchestrator)).rejects.toMatchObject({ code: 'TWL_LLM_UNAVAILABLE' });
    });
  });

  describe('evaluate', () => {
    /** Drafts are text; scores come in the order given; the feedback names the round. */
    const script = (scores: number[]) => {
      let scored = 0;
      let drafted = 0;
      ollama.onNextChats((req) => {
        if (req.format) {
          const score = scores[Math.min(scored, scores.length - 1)]!;
          scored++;
          return { content: JSON.stringify({ score, feedback: `add the impact (review ${scored})` }) };
        }
        drafted++;
        return { content: `draft ${drafted}` };
      });
    };
    const loop = { id: 'pm', kind: 'evaluate', generate: { id: 'write', kind: 'llm', prompt: "Draft (round {{ round }}){{ previous ? ': fix ' & previous.feedback & ' in ' & previous.output : '' }}" }, evaluate: { llm: { criteria: 'Mentions the impact.' } }, minScore: 0.8, maxRounds: 3 };

    it('ends on its score, refining with the feedback', async () => {
      script([0.4, 0.9]);
      const before = ollama.chats().length;
      const { run, trace } = runner(runtime, llm, {});
      const out = await run(loop);
      expect(out).toEqual({ output: 'draft 2', score: 0.9, bestRound: 2, rounds: 2, endedBy: 'score', history: [{ round: 1, score: 0.4, feedback: 'add the impact (review 1)' }, { round: 2, score: 0.9, feedback: 'add the impact (review 2)' }] });
      const sent = ollama.chats().slice(before);
      expect(sent).toHaveLength(4);
      expect(sent[2]!.messages.at(-1)!.content).toBe('Draft (round 2): fix add the impact (review 1) in draft 1');
      expect(sent[1]!.messages.at(-1)!.content).toMatch(/Criteria:\nMentions the impact\.\n\nCandidate:\ndraft 1$/);
      expect(trace.decisions.find((d) => d.path === 'pm')).toMatchObject({ decision: 'ended on its score in round 2', detail: { endedBy: 'score' } });
    });

    it('ends on its round limit with the best candidate', async () => {
      script([0.3, 0.6, 0.5]);
      const { run, trace } = runner(runtime, llm, {});
      expect(await run(loop)).toMatchObject({ output: 'draft 2', score: 0.6, bestRound: 2, rounds: 3, endedBy: 'maxRounds' });
      expect(trace.decisions.find((d) => d.path === 'pm')).toMatchObject({ decision: 'ended on its round limit (3) below 0.8', detail: { endedBy: 'maxRounds', rounds: [{ score: 0.3 }, { score: 0.6 }, { score: 0.5 }] } });
    });

    it('scores by a step and an expression without an LLM', async () => {
      const { run } = runner(runtime, undefined, {});
      const det = {
        id: 'count',
        kind: 'evaluate',
        generate: { id: 'bump', kind: 'tool', tool: 'cache_cache_set', input: { key: 'eval:n', value: '{{ $string(round) }}' } },
        evaluate: { id: 'read', kind: 'tool', tool: 'cache_cache_get', input: { key: 'eval:n' } },
        score: '$number(evaluation.value) / 2',
        minScore: 1,
        maxRounds: 5,
      };
      expect(await run(det)).toMatchObject({ score: 1, rounds: 2, endedBy: 'score' });
      await expect(run({ ...det, id: 'count2', score: 'evaluation.nothing' })).rejects.toMatchObject({ code: 'TWL_WORKFLOW_STEP_FAILED', message: expect.stringMatching(/score of count2 .* in round 1 is null, not a number/) });
    });
  });
});

describe('the incident fan-out example, through its kinds', () => {
  it('gathers in parallel and writes the template summary without an LLM', async () => {
    const { parse } = await import('yaml');
    const { readFileSync } = await import('node:fs');
    const http = await import('node:http');
    const def = parse(readFileSync(new URL('../../docs/workflows/incident-fanout.yaml', import.meta.url), 'utf8')) as { steps: Array<Record<string, unknown>> };
    const service = http.createServer((_req, res) => res.end('ok'));
    await new Promise<void>((resolve) => service.listen(0, '127.0.0.1', resolve));
    const t = tempHome('twl-wfllm-fan-');
    const target = `http://127.0.0.1:${(service.address() as { port: number }).port}/`;
    const runtime = testRuntime(t.home, { docker: { socket: `${t.home}/no-docker.sock` }, services: [{ name: 'api', kind: 'http', target }] });
    try {
      const { run, trace, steps } = runner(runtime, undefined, { service: 'api' });
      for (const step of def.steps) await run(step);
      expect(trace.decisions[0]).toMatchObject({ path: 'gather', decision: '3 of 4 branches ok', detail: { failed: ['logs'] } });
      expect(trace.decisions[1]).toEqual({ path: 'summary', decision: 'fallback', detail: { reason: 'no LLM is configured' } });
      expect(steps.summary).toMatch(/^Incident summary for api \(3 of 4 checks answered\)\n- Health: ok \(api ok\)\n- Host: CPU [\d.]+%, memory [\d.]+%, fullest disk [\d.]*%\n- Logs: no answer\n- Database: reachable, [\d.]+ ms\nChecks that failed: logs \(.+\)\n$/);
    } finally {
      await runtime.close();
      service.close();
      t.cleanup();
    }
  });
});
