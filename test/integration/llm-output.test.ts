import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TwlError } from '../../src/runtime/errors.js';
import { Llm } from '../../src/runtime/llm.js';
import type { CatalogTool } from '../../src/tools/types.js';
import { askLlm, classifyLlm, parseJsonAnswer, planFormat, schemaProblem, validatePlan, validationProblem } from '../../src/workflows/llm-output.js';
import { FakeOllama } from '../fixtures/ollama-server.js';

const severity = {
  type: 'object',
  properties: { severity: { type: 'string', enum: ['low', 'high'] }, score: { type: 'number', minimum: 0, maximum: 1 } },
  required: ['severity', 'score'],
};

describe('parsing a model answer', () => {
  it('takes JSON as is, in a fence, or after prose; names what is wrong otherwise', () => {
    expect(parseJsonAnswer('{"a":1}')).toEqual({ value: { a: 1 } });
    expect(parseJsonAnswer('Sure! Here it is:\n```json\n{"a": 2}\n```\nAnything else?')).toEqual({ value: { a: 2 } });
    expect(parseJsonAnswer('The result is {"a": [3]} as asked.')).toEqual({ value: { a: [3] } });
    expect(parseJsonAnswer('  [1, 2]  ')).toEqual({ value: [1, 2] });
    expect(parseJsonAnswer('   ')).toEqual({ problem: 'the answer was empty' });
    const bad = parseJsonAnswer('I think the severity is high.');
    expect('problem' in bad && bad.problem).toMatch(/^the answer is not JSON \(.+\): "I think the severity is high\."$/);
    const long = parseJsonAnswer('x'.repeat(5000));
    expect('problem' in long && long.problem.length).toBeLessThan(400);
  });

  it('validates against draft-07 and 2020-12 schemas and reports the path', async () => {
    expect(await validationProblem(severity, { severity: 'high', score: 0.5 })).toBeUndefined();
    expect(await validationProblem(severity, { severity: 'mid', score: 2 })).toMatch(/\/severity must be equal to one of the allowed values \("low", "high"\); \/score must be <= 1/);
    const modern = { $schema: 'https://json-schema.org/draft/2020-12/schema', type: 'object', properties: { at: { type: 'string', format: 'date-time' } }, required: ['at'] };
    expect(await validationProblem(modern, { at: 'yesterday' })).toMatch(/\/at must match format "date-time"/);
    expect(await validationProblem(modern, { at: '2026-12-06T10:00:00Z' })).toBeUndefined();
    expect(await schemaProblem({ type: 'objekt' })).toMatch(/not a valid JSON Schema/);
    expect(await schemaProblem('nope')).toMatch(/not a JSON Schema object/);
    expect(await schemaProblem(severity)).toBeUndefined();
  });
});

describe('asking a model (an Ollama-speaking server)', () => {
  let ollama: FakeOllama;
  let llm: Llm;
  beforeAll(async () => {
    ollama = await new FakeOllama().start();
    llm = new Llm(ollama.url, 'llama3.1:8b', 5000);
  });
  afterAll(() => ollama.stop());

  it('sends the schema as format and in the system prompt, and returns the valid value at once', async () => {
    const before = ollama.chats().length;
    ollama.onNextChats({ content: '{"severity":"high","score":0.9}' });
    const a = await askLlm(llm, { prompt: 'How bad is it?', system: 'You are an SRE.', format: { $schema: 'http://json-schema.org/draft-07/schema#', ...severity } });
    expect(a).toMatchObject({ value: { severity: 'high', score: 0.9 }, attempts: 1, problems: [], model: 'llama3.1:8b', via: 'ollama' });
    const sent = ollama.chats().slice(before);
    expect(sent).toHaveLength(1);
    // Ollama's grammar converter gets the schema without $schema.
    expect(sent[0]!.format).toEqual(severity);
    expect(sent[0]!.messages[0]).toMatchObject({ role: 'system' });
    expect(sent[0]!.messages[0]!.content).toMatch(/^You are an SRE\.\n\nAnswer with one JSON value only.*"enum":\["low","high"\]/s);
  });

  it('retries a non-JSON answer, telling the model what was wrong, then takes the JSON', async () => {
    const before = ollama.chats().length;
    ollama.onNextChats({ content: 'It looks pretty bad to me.' }, { content: '```json\n{"severity":"high","score":0.8}\n```' });
    const seen: Array<string | undefined> = [];
    const a = await askLlm(llm, { prompt: 'How bad is it?', format: severity, retries: 2, onAttempt: (x) => seen.push(x.problem) });
    expect(a.value).toEqual({ severity: 'high', score: 0.8 });
    expect(a.attempts).toBe(2);
    expect(a.problems).toEqual([expect.stringMatching(/^the answer is not JSON/)]);
    expect(seen).toEqual([expect.stringMatching(/not JSON/), undefined]);
    const second = ollama.chats().slice(before)[1]!;
    // The conversation carries the bad answer and the reason it was refused.
    expect(second.messages.at(-2)).toEqual({ role: 'assistant', content: 'It looks pretty bad to me.' });
    expect(second.messages.at(-1)!.content).toMatch(/^That answer cannot be used: the answer is not JSON .*\nAnswer again with only the JSON value/s);
  });

  it('retries JSON that does not match the schema, naming the field', async () => {
    const before = ollama.chats().length;
    ollama.onNextChats({ content: '{"severity":"catastrophic","score":0.8}' }, { content: '{"severity":"high","score":0.8}' });
    const a = await askLlm(llm, { prompt: 'How bad?', format: severity });
    expect(a.attempts).toBe(2);
    expect(ollama.chats().slice(before)[1]!.messages.at(-1)!.content).toMatch(/the JSON does not match the schema: \/severity must be equal to one of the allowed values \("low", "high"\)/);
  });

  it('fails clearly when the bound is exceeded, after exactly retries + 1 attempts', async () => {
    const before = ollama.chats().length;
    ollama.onNextChats({ content: 'no' }, { content: 'still no' }, { content: '{"severity":"high","score":1}' });
    const err = await askLlm(llm, { prompt: 'How bad?', format: severity, retries: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TwlError);
    expect((err as TwlError).code).toBe('TWL_LLM_OUTPUT_INVALID');
    expect((err as TwlError).message).toMatch(/gave no usable answer in 2 attempts: 1\) the answer is not JSON .*"no"; 2\) the answer is not JSON .*"still no"/);
    expect((err as TwlError).actions[0]).toMatch(/Raise the step's retries/);
    expect(ollama.chats().length - before).toBe(2);
  });

  it('clamps retries to the maximum and does not retry an unreachable server', async () => {
    const before = ollama.chats().length;
    ollama.onNextChats({ content: 'nope' });
    const err = (await askLlm(llm, { prompt: 'x', format: severity, retries: 99 }).catch((e: unknown) => e)) as TwlError;
    expect(err.code).toBe('TWL_LLM_OUTPUT_INVALID');
    expect(ollama.chats().length - before).toBe(6);
    const gone = new Llm('http://127.0.0.1:1', 'llama3.1:8b', 2000);
    const down = (await askLlm(gone, { prompt: 'x', format: severity }).catch((e: unknown) => e)) as TwlError;
    expect(down.code).toBe('TWL_LLM_UNAVAILABLE');
  });

  it('returns free text without a format, retrying only an empty answer', async () => {
    ollama.onNextChats({ content: '' }, { content: 'The database is slow.' });
    const a = await askLlm(llm, { prompt: 'Summarise' });
    expect(a).toMatchObject({ value: 'The database is slow.', attempts: 2, problems: ['the answer was empty'] });
    const sent = ollama.chats().at(-1)!;
    expect(sent.format).toBeUndefined();
  });

  it('classifies into one of the labels, accepting a bare label and retrying an unknown one', async () => {
    ollama.onNextChats({ content: '{"label":"billing","reason":"an invoice"}' });
    expect(await classifyLlm(llm, { prompt: 'Invoice 42 is wrong', labels: ['billing', 'network'] })).toEqual({ label: 'billing', reason: 'an invoice', attempts: 1 });
    const sent = ollama.chats().at(-1)!;
    expect(sent.format).toMatchObject({ properties: { label: { enum: ['billing', 'network'] } } });
    ollama.onNextChats({ content: ' "Network". ' });
    expect(await classifyLlm(llm, { prompt: 'VPN down', labels: ['billing', 'network'] })).toEqual({ label: 'network', attempts: 1 });
    ollama.onNextChats({ content: '{"label":"hardware"}' }, { content: '{"label":"network"}' });
    expect(await classifyLlm(llm, { prompt: 'VPN down', labels: ['billing', 'network'] })).toEqual({ label: 'network', attempts: 2 });
  });
});

describe('checking a plan', () => {
  const tools: Record<string, CatalogTool> = {
    monitoring_health_check: { name: 'monitoring_health_check', title: '', description: '', inputSchema: { type: 'object', properties: { service: { type: 'string' } }, required: ['service'], additionalProperties: false }, annotations: {}, minRole: 'viewer', needsApproval: false, source: 'twl' },
    monitoring_metrics: { name: 'monitoring_metrics', title: '', description: '', inputSchema: { type: 'object', properties: {} }, annotations: {}, minRole: 'viewer', needsApproval: false, source: 'twl' },
    db_query: { name: 'db_query', title: '', description: '', inputSchema: { type: 'object', properties: { sql: { type: 'string' } }, required: ['sql'] }, annotations: {}, minRole: 'operator', needsApproval: false, source: 'twl' },
  } as unknown as Record<string, CatalogTool>;
  const tool = async (name: string) => (Object.hasOwn(tools, name) ? tools[name] : undefined);

  it('accepts a valid plan, as {calls} or a bare list', async () => {
    const calls = [{ tool: 'monitoring_health_check', input: { service: 'api' } }, { tool: 'monitoring_metrics', input: {} }];
    expect(await validatePlan({ calls }, { allowed: ['monitoring_*'], maxCalls: 5, tool })).toEqual({ calls, problems: [] });
    expect((await validatePlan(calls, { allowed: ['monitoring_*'], maxCalls: 5, tool })).calls).toHaveLength(2);
  });

  it('rejects a plan with every reason: count, glob, unknown tool, bad input, shape', async () => {
    const r = await validatePlan(
      {
        calls: [
          { tool: 'db_query', input: { sql: 'drop table x' } },
          { tool: 'monitoring_nope', input: {} },
          { tool: 'monitoring_health_check', input: { service: 7, extra: true } },
        ],
      },
      { allowed: ['monitoring_*'], maxCalls: 2, tool },
    );
    expect(r.calls).toEqual([]);
    expect(r.problems).toEqual([
      'it plans 3 calls, more than maxCalls (2)',
      'call 1 ("db_query"): the tool is outside the allowed tools (monitoring_*)',
      'call 2 ("monitoring_nope"): no such tool in the catalog',
      expect.stringMatching(/^call 3 \("monitoring_health_check"\): the input does not match the tool's schema: .*\/service must be string/),
    ]);
    expect((await validatePlan({ steps: [] }, { allowed: ['*'], maxCalls: 2, tool })).problems).toEqual([expect.stringMatching(/^the plan is not a list of \{tool, input\} calls: .*must have required property 'calls'/)]);
    expect((await validatePlan({ calls: [{ tool: 'x' }] }, { allowed: ['*'], maxCalls: 2, tool })).problems[0]).toMatch(/\/calls\/0 must have required property 'input'/);
    expect((await validatePlan({ calls: [{ tool: '__proto__', input: {} }] }, { allowed: ['*'], maxCalls: 2, tool })).problems).toEqual(['call 1 ("__proto__"): no such tool in the catalog']);
  });

  it('refuses a hostile plan for its size without checking every call, and a huge answer is quoted short', async () => {
    const calls = Array.from({ length: 5000 }, () => ({ tool: 'db_query', input: {} }));
    const r = await validatePlan({ calls }, { allowed: ['monitoring_*'], maxCalls: 10, tool });
    expect(r.problems[0]).toBe('it plans 5000 calls, more than maxCalls (10)');
    expect(r.problems).toHaveLength(101);
    const huge = parseJsonAnswer(`{"a": ${'['.repeat(10)}`.padEnd(1_000_000, 'x'));
    expect('problem' in huge && huge.problem.length).toBeLessThan(400);
  });

  it('constrains the planner to the tool names and the count', () => {
    expect(planFormat(['a', 'b'], 3)).toMatchObject({ properties: { calls: { maxItems: 3, items: { properties: { tool: { enum: ['a', 'b'] } } } } } });
  });
});
