// The seed's request headers on the bridge: X-Priority, X-Timeout and X-Session-ID are parsed
// strictly, and every bad value is refused with a message naming the header and the fix.
import { describe, expect, it } from 'vitest';
import { HeaderError, MAX_TIMEOUT_MS, parsePriority, parseSessionId, parseTimeout, priorityLabel } from '../../../src/bridge/headers.js';

describe('X-Priority', () => {
  it('takes the seed names in any case, and integers from -100 to 100 (higher runs first)', () => {
    expect(parsePriority('CRITICAL')).toBeGreaterThan(parsePriority('HIGH')!);
    expect(parsePriority('high')).toBeGreaterThan(parsePriority('Medium')!);
    expect(parsePriority('MEDIUM')).toBe(0);
    expect(parsePriority('LOW')).toBeLessThan(0);
    expect(parsePriority('BULK')).toBeLessThan(parsePriority('LOW')!);
    expect(parsePriority('7')).toBe(7);
    expect(parsePriority('-100')).toBe(-100);
    expect(parsePriority(' 3 ')).toBe(3);
    expect(parsePriority(undefined)).toBeUndefined();
    expect(parsePriority('')).toBeUndefined();
  });

  it.each(['URGENT', '101', '-101', '1e2', '0x10', '1.5', 'HIGH;LOW', 'constructor', '__proto__', 'toString', 'NaN', 'Infinity', '٣', 'HIGH\u0000', 'A'.repeat(10_000)])('refuses %j, naming the header', (value) => {
    expect(() => parsePriority(value)).toThrow(HeaderError);
    expect(() => parsePriority(value)).toThrow(/X-Priority .*CRITICAL, HIGH, MEDIUM, LOW, BULK/);
  });

  it('refuses the header sent twice', () => {
    expect(() => parsePriority(['HIGH', 'LOW'])).toThrow(/sent 2 times/);
  });

  it('shows a priority by its seed name in /mcp/status, and other numbers as numbers', () => {
    expect(priorityLabel(parsePriority('HIGH')!)).toBe('HIGH');
    expect(priorityLabel(42)).toBe('42');
  });
});

describe('X-Timeout', () => {
  it('takes seconds, as the seed sends them, and durations', () => {
    expect(parseTimeout('30')).toBe(30_000);
    expect(parseTimeout('2.5')).toBe(2500);
    expect(parseTimeout('500ms')).toBe(500);
    expect(parseTimeout('2m')).toBe(120_000);
    expect(parseTimeout(undefined)).toBeUndefined();
  });

  it.each(['0', '0ms', '-1', '11m', '1h', '1d', 'soon', '1e3', '30 s s', 'NaN', '9'.repeat(400), '1\n0'])('refuses %j, naming the limits', (value) => {
    expect(() => parseTimeout(value)).toThrow(HeaderError);
    expect(() => parseTimeout(value)).toThrow(/X-Timeout .*at most 10 minutes/);
  });

  it('accepts exactly the longest timeout', () => {
    expect(parseTimeout(`${MAX_TIMEOUT_MS}ms`)).toBe(MAX_TIMEOUT_MS);
  });
});

describe('X-Session-ID', () => {
  it('takes ids of letters, digits and . _ : -', () => {
    expect(parseSessionId('abc-123_x.y:z')).toBe('abc-123_x.y:z');
    expect(parseSessionId('a'.repeat(128))).toHaveLength(128);
    expect(parseSessionId(undefined)).toBeUndefined();
  });

  it.each(['a'.repeat(129), 'a b', '../../etc/passwd', 'a/b', 'a\r\nX-Injected: 1', 'é', '<script>', 'a%00', '\u0000'])('refuses %j', (value) => {
    expect(() => parseSessionId(value)).toThrow(/X-Session-ID .* is not a session id/);
  });
});
