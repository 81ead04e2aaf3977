import jsonata from 'jsonata';
import { describe, expect, it } from 'vitest';
import { evaluate, expressionProblem, render, templateParts } from '../../../src/workflows/expr.js';

const scope = { input: { text: 'x', n: 0, o: { a: { b: false } }, list: ['a'], and: 1 }, steps: { s0: { sentiment: 'neg', tags: ['a', 'b'] }, z: null } };

describe('workflow expressions and templates', () => {
  it('reads plain paths exactly as JSONata does (the fast path)', async () => {
    for (const e of ['input.text', 'input.n', 'input.o.a.b', 'input.o', 'steps.s0.sentiment', 'steps.s1.x', 'steps.z', 'steps.z.q', 'nothing', 'input.text.length', 'input.list', 'steps.s0.tags', 'input.and', 'constructor', 'input.__proto__']) {
      const expected = (await jsonata(e).evaluate(scope).catch(() => 'error')) as unknown;
      expect(await evaluate(e, scope).catch(() => 'error'), e).toEqual(expected === undefined ? null : expected);
    }
  });

  it('renders a whole "{{ expr }}" as its value and interpolates the others as text, deep', async () => {
    expect(await render({ a: '{{ input.o }}', b: ['n={{ input.n }} s={{ steps.s0.sentiment }}', 3], c: 'plain', d: '{{ steps.missing }}-' }, scope)).toEqual({ a: { a: { b: false } }, b: ['n=0 s=neg', 3], c: 'plain', d: '-' });
    expect(templateParts('a {{ x }} b {{y.z}}')).toEqual(['x', 'y.z']);
  });

  it('names where an expression does not parse, and bounds a runaway one', async () => {
    expect(expressionProblem('steps.a = ((')).toMatch(/does not parse: .*at character/);
    expect(expressionProblem("steps.a.status = 'ok'")).toBeUndefined();
    await expect(evaluate('($f := function($n){ $f($n + 1) }; $f(0))', {})).rejects.toMatchObject({ code: 'TWL_WORKFLOW_STEP_FAILED' });
  });
});
