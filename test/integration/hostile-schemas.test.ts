import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { coreOps } from '../../src/ops/registry.js';
import type { Runtime } from '../../src/runtime/context.js';
import { linearRegExp } from '../../src/runtime/linear-regexp.js';
import type { Catalog } from '../../src/tools/catalog.js';
import { buildCatalog } from '../../src/tools/index.js';
import { STALL_BOUND_MS, root, stalledDuring, tempHome, testRuntime } from '../helpers.js';

/**
 * Regular expressions from a hostile upstream's schemas (test/fixtures/hostile-upstream.mjs,
 * HOSTILE_MODE=schemas): `^(a+)+$` in a `pattern`, a `patternProperties` key and an outputSchema,
 * against 'a' × 40 + '!', which takes a backtracking engine hours. twl checks an orchestrator's plan
 * against the tool's input schema, so that pattern runs here: it must answer (the event loop kept
 * turning: it never stood still for long), and a pattern RE2 cannot run fails the plan closed.
 */
const hostile = path.join(root, 'test', 'fixtures', 'hostile-upstream.mjs');
const evilInput = `${'a'.repeat(40)}!`;


describe('hostile upstream schemas: regular expressions run in linear time', () => {
  const { home, cleanup } = tempHome('twl-hostile-schemas-');
  const actor = `hostile-schemas-${process.pid}`;
  let runtime: Runtime;
  let catalog: Catalog;
  const plan = (name: string, tool: string, input: Record<string, unknown>) => ({
    name,
    input: { type: 'object', properties: { text: { type: 'string' }, extra: { type: 'object' } } },
    steps: [{ id: 'plan', kind: 'orchestrator', planner: { map: '[input]', call: { tool, input } } }],
  });

  beforeAll(async () => {
    runtime = testRuntime(home, {
      upstreams: [{ name: 'rx', transport: 'stdio', command: process.execPath, args: [hostile], env: { HOSTILE_MODE: 'schemas' } }],
      workflows: [plan('echo-plan', 'rx_redos', { text: '{{ item.text }}', extra: '{{ item.extra }}' }), plan('look-plan', 'rx_lookahead', { text: '{{ item.text }}' })],
    });
    catalog = await buildCatalog(runtime, coreOps);
  });
  afterAll(async () => {
    await catalog.close();
    await runtime.close();
    cleanup();
  });

  it('an orchestrator\'s plan checked against ^(a+)+$ with a hostile input: refused with the reason, the event loop still turning', async () => {
    const refused = await stalledDuring(() => catalog.call('workflow_echo_plan', { text: evilInput, extra: {} }, { face: 'cli', actor }));
    expect(refused.stalledMs).toBeLessThan(STALL_BOUND_MS);
    expect(refused.error?.code).toBe('TWL_WORKFLOW_FAILED');
    expect(refused.error?.message).toMatch(/rx_redos.*the input does not match the tool's schema: \/text must match pattern "\^\(a\+\)\+\$"/);

    // patternProperties runs the same pattern over the keys: a hostile key is simply not matched, and the plan runs.
    const keys = await stalledDuring(() => catalog.call('workflow_echo_plan', { text: 'aaaa', extra: { [evilInput]: 'x' } }, { face: 'cli', actor }));
    expect(keys.stalledMs).toBeLessThan(STALL_BOUND_MS);
    expect(keys.error).toBeUndefined();
    expect(keys.value?.structured).toMatchObject({ status: 'completed' });
  });

  it('a pattern RE2 cannot run (lookahead) fails the plan closed, naming the tool and the pattern; nothing is called', async () => {
    const { error } = await stalledDuring(() => catalog.call('workflow_look_plan', { text: 'xx' }, { face: 'cli', actor }));
    expect(error?.code).toBe('TWL_WORKFLOW_FAILED');
    expect(error?.message).toMatch(/rx_lookahead.*input schema cannot be checked, so the call is refused: the JSON Schema pattern "\^\(\?=x\)x\+\$" cannot be matched in linear time/);
    expect(error?.message).toMatch(/nothing ran/);
  });

  it('a direct call passes the input to the upstream unchecked, and its structured answer against the hostile outputSchema does not hang the client', async () => {
    const { value, error, stalledMs } = await stalledDuring(() => catalog.call('rx_redos', { text: evilInput }, { face: 'cli', actor }));
    expect(stalledMs).toBeLessThan(STALL_BOUND_MS);
    expect(error).toBeUndefined();
    expect(value?.structured).toEqual({ echo: evilInput });
  });

  it('the linear engine: ECMAScript escapes, flags, and a clear refusal', () => {
    expect(linearRegExp('^(a+)+$').test(evilInput)).toBe(false);
    expect(linearRegExp('^\\u00e9\\u{1F600}$').test('é😀')).toBe(true);
    expect(linearRegExp('^ABC$', 'i').test('abc')).toBe(true);
    expect(linearRegExp('\\\\u0041').test('\\u0041')).toBe(true);
    expect(() => linearRegExp('(a)\\1', '', 'grep')).toThrow(/grep "\(a\)\\\\1" cannot be matched in linear time/);
  });
});
