import { describe, expect, it } from 'vitest';
import { MAX_SCHEMA_BYTES, annotationsOf, cleanSchema, cleanText, toolNameProblem } from '../../../src/tools/sanitize.js';

describe('what the catalog accepts from an upstream', () => {
  it('tool names: MCP\'s ASCII alphabet only, no path or unicode tricks', () => {
    for (const good of ['echo', 'get-sum', 'read_file', 'v1.list', 'A9']) expect(toolNameProblem(good)).toBeUndefined();
    const bad = ['', '..', '.hidden', '-flag', 'a..b', '../../etc/passwd', 'a/b', 'a\\b', 'a b', 'new\nline', 'nul\u0000', 'rtl\u202eexe', 'zero\u200bwidth', 'ｆｕｌｌ', 'é', 'n'.repeat(65), '%2e%2e', 'a:b', 'a?b', 'a#b'];
    for (const name of bad) expect(toolNameProblem(name), JSON.stringify(name)).toBeDefined();
    for (const notString of [42, null, undefined, {}, ['echo']]) expect(toolNameProblem(notString)).toMatch(/not a string/);
  });

  it('schemas: a JSON object schema, local $refs only, bounded, copied without __proto__', () => {
    expect(cleanSchema({ properties: { a: { type: 'string' } } }, 'input').schema).toEqual({ type: 'object', properties: { a: { type: 'string' } } });
    expect(cleanSchema({ type: 'object', $defs: { x: {} }, properties: { a: { $ref: '#/$defs/x' } } }, 'input').schema).toBeDefined();
    const problems: Array<[unknown, RegExp]> = [
      [null, /not a JSON object/],
      [[], /not a JSON object/],
      ['{"type":"object"}', /not a JSON object/],
      [{ type: 'string' }, /not "object"/],
      [{ type: ['object', 'null'] }, /not "object"/],
      [{ type: 'object', properties: { a: { $ref: 'https://evil.example/s.json' } } }, /not local/],
      [{ type: 'object', properties: { a: { $ref: 'file:///etc/passwd' } } }, /not local/],
      [{ type: 'object', properties: { a: { $ref: 42 } } }, /not local/],
      [{ type: 'object', description: 'x'.repeat(MAX_SCHEMA_BYTES) }, /larger than/],
    ];
    let deep: Record<string, unknown> = { type: 'object' };
    for (let i = 0; i < 40; i++) deep = { type: 'object', properties: { x: deep } };
    problems.push([deep, /deeper than/]);
    const cyclic: Record<string, unknown> = { type: 'object' };
    cyclic.self = cyclic;
    problems.push([cyclic, /cannot be serialized/]);
    for (const [schema, problem] of problems) expect(cleanSchema(schema, 'input').problem).toMatch(problem);
    const hostile = JSON.parse('{"type":"object","properties":{"__proto__":{"polluted":true},"q":{"type":"string"}}}') as Record<string, unknown>;
    const clean = cleanSchema(hostile, 'input').schema!;
    expect(Object.keys(clean.properties as object)).toEqual(['q']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    // An output schema may have any root.
    expect(cleanSchema({ type: 'array' }, 'output').schema).toEqual({ type: 'array' });
  });

  it('texts: terminal escapes, bidi overrides and zero-width characters dropped, length capped', () => {
    expect(cleanText('ok\u001b[2J\u001b]0;title\u0007 \u202eevil\u2066x\u200b\ufeff', 100)).toBe('ok[2J]0;title evilx');
    expect(cleanText('tab\tand\nnewline kept', 100)).toBe('tab\tand\nnewline kept');
    expect(cleanText('x'.repeat(10), 4)).toBe('xxxx');
    expect(cleanText(42, 10)).toBe('');
  });

  it('annotations: MCP\'s defaults for what is left out, booleans only', () => {
    expect(annotationsOf(undefined)).toEqual({ readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true });
    expect(annotationsOf({ readOnlyHint: 'yes', destructiveHint: 0 })).toEqual({ readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true });
    expect(annotationsOf({ readOnlyHint: true, destructiveHint: true })).toEqual({ readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true });
  });
});
