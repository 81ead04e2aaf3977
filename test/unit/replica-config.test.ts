import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/runtime/config.js';

// http.replica (TWL_REPLICA) becomes the prefix of MCP 2025 session ids, "<replica>.<uuid>", that a
// load balancer parses: a name must not carry the separator, spaces, or anything a header or an
// nginx map could misread.

describe('http.replica', () => {
  it('accepts replica names, from the file or from TWL_REPLICA', () => {
    for (const name of ['r1', 'twl-serve-7d9f8c6b5-x2k4p', 'A_b-9', 'x'.repeat(63)]) {
      expect(validateConfig({ http: { replica: name } }, undefined, {}).config.http.replica).toBe(name);
    }
    const loaded = validateConfig({}, undefined, { TWL_REPLICA: 'twl-2' });
    expect(loaded.config.http.replica).toBe('twl-2');
    expect(loaded.fromEnv.join(' ')).toContain('TWL_REPLICA');
  });

  it('refuses names that would break the session id or the routing, naming the rule', () => {
    for (const name of ['', 'a.b', 'a b', '../x', '-lead', '_lead', 'x'.repeat(64), 'ré', 'a\nb', 'a;b', '${x}', 'a/b']) {
      expect(() => validateConfig({ http: { replica: name } }, undefined, {}), JSON.stringify(name)).toThrow(/replica name: letters, digits, - and _/);
    }
    expect(() => validateConfig({}, undefined, { TWL_REPLICA: 'bad.name' })).toThrow(/TWL_REPLICA|replica/);
  });
});
