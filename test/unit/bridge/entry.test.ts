// The upstream `twl bridge` fronts: built from the command after --, or a configured entry
// (--upstream), with the flags' overrides; every bad input names the flag and the fix.
import { describe, expect, it } from 'vitest';
import { bridgeEntry } from '../../../src/bridge/entry.js';
import { flagPairs } from '../../../src/upstream/config.js';
import { upstreamConfigSchema } from '../../../src/upstream/config.js';

const configured = [upstreamConfigSchema.parse({ name: 'docs', transport: 'http', url: 'https://docs.example/mcp', timeout: '10s' }), upstreamConfigSchema.parse({ name: 'ev', transport: 'stdio', command: 'npx', args: ['-y', 'x'] })];

describe('bridgeEntry', () => {
  it('makes a stdio entry of the command, passed as it is, with no per-call approval', () => {
    const entry = bridgeEntry({ sharing: 'isolated', timeoutMs: 2500, env: ['TOKEN=${env:MY_TOKEN}', 'EMPTY='] }, ['node', 'server.js', '--flag', '$HOME; rm -rf /'], []);
    expect(entry).toMatchObject({ name: 'bridge', transport: 'stdio', command: 'node', args: ['server.js', '--flag', '$HOME; rm -rf /'], sharing: 'isolated', timeout: 2500, approval: 'never', env: { TOKEN: '${env:MY_TOKEN}', EMPTY: '' } });
  });

  it('takes a configured entry by name, with the flags applied to its parsed values', () => {
    const entry = bridgeEntry({ upstream: 'ev', timeoutMs: 500, poolMax: 3, sharing: 'pool' }, [], configured);
    expect(entry).toMatchObject({ name: 'ev', command: 'npx', sharing: 'pool', timeout: 500, pool: { max: 3 } });
    // Untouched settings keep their parsed values (milliseconds, not seconds again).
    expect(bridgeEntry({ upstream: 'docs' }, [], configured).timeout).toBe(10_000);
  });

  it.each([
    [{}, [], /No server to bridge/],
    [{ upstream: 'ev' }, ['node', 'x.js'], /either --upstream ev or a command/],
    [{ upstream: 'nope' }, [], /No upstream named "nope".*there are: docs, ev/],
    [{ upstream: 'docs', sharing: 'pool' as const }, [], /pool is for stdio servers/],
    [{ upstream: 'ev', env: ['A=1'] }, [], /--env, --cwd and --name are for a command/],
    [{ name: 'Bad Name' }, ['node'], /--name "Bad Name" is not a valid upstream name/],
    [{ name: 'x'.repeat(40) }, ['node'], /is not a valid upstream name/],
  ])('refuses %j %j', (flags, command, message) => {
    expect(() => bridgeEntry(flags, command, configured)).toThrow(message);
  });
});

describe('--env and --header pairs', () => {
  it.each(['NOEQUALS', '=value', '1ABC=x', 'A B=x', 'A-B=x'])('refuses %j', (pair) => {
    expect(() => flagPairs([pair], '--env')).toThrow(/is not NAME=VALUE/);
  });

  it.each([
    ['--env', 'bad name=s3cret-value'],
    ['--env', 's3cret-value'],
    ['--env', 'PASSWORD'.padEnd(60, 's3cret')],
    ['--header', 'Bearer s3cret-value'],
    ['--header', 'Auth/orization: s3cret-value'],
  ] as const)('never shows a secret of a malformed %s pair', (flag, pair) => {
    expect(() => flagPairs([pair], flag)).toThrow(expect.objectContaining({ message: expect.not.stringContaining('s3cret') }));
  });

  it('keeps names exactly, refuses one given twice, and takes header pairs either way', () => {
    expect(flagPairs(['__proto__=x', 'A=b=c'], '--env')).toEqual(Object.fromEntries([['__proto__', 'x'], ['A', 'b=c']]));
    expect(() => flagPairs(['A=1', 'A=2'], '--env')).toThrow(/given twice/);
    expect(flagPairs(['Authorization: Bearer t', 'X-Key=v'], '--header')).toEqual({ Authorization: 'Bearer t', 'X-Key': 'v' });
  });
});
