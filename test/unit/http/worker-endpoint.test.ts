import { describe, expect, it } from 'vitest';
import { isTwlError } from '../../../src/runtime/errors.js';
import { parseListenAddress } from '../../../src/http/worker-endpoint.js';
import { judgeHealth, type LoopState } from '../../../src/studio/worker.js';

const refusal = (value: string): string => {
  try {
    parseListenAddress(value);
  } catch (err) {
    expect(isTwlError(err) && err.code === 'TWL_INPUT_INVALID' && err.exitCode === 2, String(err)).toBe(true);
    return (err as Error).message;
  }
  throw new Error(`${value} was accepted`);
};

describe('parseListenAddress (twl worker --metrics)', () => {
  it('reads a port alone as loopback, and an IPv4, localhost or bracketed IPv6 address with a port', () => {
    expect(parseListenAddress('9464')).toEqual({ host: '127.0.0.1', port: 9464 });
    expect(parseListenAddress('0')).toEqual({ host: '127.0.0.1', port: 0 });
    expect(parseListenAddress('0.0.0.0:9464')).toEqual({ host: '0.0.0.0', port: 9464 });
    expect(parseListenAddress('127.0.0.1:0')).toEqual({ host: '127.0.0.1', port: 0 });
    expect(parseListenAddress('LOCALHOST:65535')).toEqual({ host: 'localhost', port: 65_535 });
    expect(parseListenAddress('[::1]:9464')).toEqual({ host: '::1', port: 9464 });
    expect(parseListenAddress('[::]:1')).toEqual({ host: '::', port: 1 });
  });

  it('refuses what is not [host:]port, saying what is wrong', () => {
    expect(refusal('')).toContain('is not [host:]port');
    expect(refusal('abc')).toContain('does not end with a port');
    expect(refusal('65536')).toContain('0 to 65535');
    expect(refusal('-1')).toContain('does not end with a port');
    expect(refusal('127.0.0.1:')).toContain('does not end with a port');
    expect(refusal(':9464')).toContain('no address before the colon');
    expect(refusal('::1:9464')).toContain('without brackets');
    expect(refusal('[nope]:9464')).toContain('not an IPv6 address');
    expect(refusal('metrics.example.com:9464')).toContain('not an IP address');
    expect(refusal('999.1.1.1:80')).toContain('not an IP address');
    expect(refusal('http://127.0.0.1:9464')).toMatch(/not an IP address|does not end with a port/);
  });
});

describe('judgeHealth (a worker\'s /healthz)', () => {
  const now = 1_000_000;
  const loop = (over: Partial<LoopState>): LoopState => ({ queue: 'default', count: 0, createdOn: now - 60_000, lastFetchedOn: now - 1_000, ...over });
  const judge = (loops: LoopState[], extra: { storeDownSince?: number; stopping?: boolean } = {}) => judgeHealth({ loops, now, stallMs: 15_000, stopping: false, backend: 'postgres', ...extra });

  it('ok while every idle loop polled within the stall time', () => {
    expect(judge([loop({}), loop({ queue: 'reports', lastFetchedOn: now - 14_000 })])).toEqual({ status: 'ok' });
  });

  it('a loop busy with a long run is not stalled; an idle one that stopped polling is', () => {
    expect(judge([loop({ count: 2, lastFetchedOn: now - 600_000 })]).status).toBe('ok');
    const stalled = judge([loop({}), loop({ queue: 'reports', lastFetchedOn: now - 20_000 })]);
    expect(stalled).toEqual({ status: 'stalled', reason: expect.stringContaining('queue reports has not polled for 20 s') });
    // Never polled since it started long ago.
    expect(judge([loop({ lastFetchedOn: null })]).status).toBe('stalled');
    expect(judge([loop({ lastFetchedOn: null, createdOn: now - 1_000 })]).status).toBe('ok');
    expect(judge([]).status).toBe('stalled');
  });

  it('an unreachable store and a stopping worker come first', () => {
    expect(judge([loop({})], { storeDownSince: now - 12_000 })).toEqual({ status: 'store_unreachable', reason: expect.stringMatching(/^PostgreSQL has been unreachable for 12 s/) });
    expect(judge([loop({})], { storeDownSince: now, stopping: true }).status).toBe('stopping');
  });
});
