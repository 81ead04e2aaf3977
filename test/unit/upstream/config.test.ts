import { describe, expect, it } from 'vitest';
import { configSchema } from '../../../src/runtime/config.js';
import { upstreamConfigSchema, upstreamsSchema } from '../../../src/upstream/config.js';

const issues = (input: unknown) => {
  const result = upstreamsSchema.safeParse(input);
  return result.success ? [] : result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
};

describe('upstreams: configuration entries', () => {
  it('fills the defaults and parses durations to milliseconds', () => {
    const entry = upstreamConfigSchema.parse({ name: 'ev', transport: 'stdio', command: 'npx', args: ['-y', 'x'], toolTimeouts: { slow: '2m' }, cache: { 'get-*': { ttl: '30s' } } });
    expect(entry).toMatchObject({
      sharing: 'shared',
      timeout: 30_000,
      toolTimeouts: { slow: 120_000 },
      cache: { 'get-*': { ttl: 30_000, staleIfError: 0 } },
      approval: 'ask',
      queue: { max: 1000, concurrency: 64 },
      retries: 2,
      idleTimeout: 15 * 60_000,
      pool: { min: 1, max: 4 },
      env: {},
      headers: {},
    });
  });

  it('is the upstreams key of twl\'s configuration (default: none)', () => {
    expect(configSchema.parse({}).upstreams).toEqual([]);
    expect(configSchema.parse({ upstreams: [{ name: 'docs', transport: 'http', url: 'https://example.com/mcp' }] }).upstreams[0]!.transport).toBe('http');
  });

  it.each([
    [[{ name: 'Bad_Name', transport: 'stdio', command: 'x' }], /^0\.name: expected a lowercase name/],
    [[{ name: 'a'.repeat(33), transport: 'stdio', command: 'x' }], /^0\.name: expected a lowercase name/],
    [[{ name: 'ev', transport: 'stdio' }], /^0\.command: required for transport stdio/],
    [[{ name: 'ev', transport: 'http' }], /^0\.url: required for transport http/],
    [[{ name: 'ev', transport: 'http', url: 'ftp://x/mcp' }], /^0\.url: expected an http:\/\/ or https:\/\/ URL/],
    [[{ name: 'ev', transport: 'http', url: 'https://x/mcp', sharing: 'pool' }], /^0\.sharing: pool is for stdio children/],
    [[{ name: 'ev', transport: 'stdio', command: 'x', headers: { A: 'b' } }], /^0\.headers: only for transport http/],
    [[{ name: 'ev', transport: 'stdio', command: 'x', timeout: 'soon' }], /^0\.timeout: expected a number of seconds or a duration/],
    [[{ name: 'ev', transport: 'stdio', command: 'x', pool: { min: 5, max: 2 } }], /^0\.pool: pool\.min must not exceed pool\.max/],
    [[{ name: 'ev', transport: 'stdio', command: 'x', env: { 'BAD-NAME': 'x' } }], /^0\.env\.BAD-NAME: expected an environment variable name \(letters, digits, _\), got "BAD-NAME"/],
    [[{ name: 'ev', transport: 'stdio', command: 'x', surprise: true }], /Unrecognized key: "surprise"/],
    [
      [
        { name: 'ev', transport: 'stdio', command: 'x' },
        { name: 'ev', transport: 'stdio', command: 'y' },
      ],
      /^1\.name: duplicate upstream name "ev"/,
    ],
  ])('refuses %j with a message naming the problem', (input, message) => {
    expect(issues(input).join('\n')).toMatch(message);
  });
});
