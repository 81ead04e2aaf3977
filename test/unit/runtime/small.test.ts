import { describe, expect, it } from 'vitest';
import { globToLike } from '../../../src/runtime/cache.js';
import { parseDuration } from '../../../src/runtime/duration.js';
import { redactDeep, redactText, redactUrl } from '../../../src/runtime/redact.js';

describe('parseDuration', () => {
  it.each([
    ['60', 60_000],
    [60, 60_000],
    ['500ms', 500],
    ['1.5s', 1500],
    ['2m', 120_000],
    ['1h', 3_600_000],
  ])('%s', (input, ms) => expect(parseDuration(input)).toBe(ms));
  it.each(['', 'soon', '-1', '5 parsecs'])('rejects %s', (input) => expect(parseDuration(input)).toBeUndefined());
});

describe('redaction', () => {
  it('hides URL passwords', () => {
    expect(redactUrl('postgres://u:hunter2@h:5432/db')).toBe('postgres://u:***@h:5432/db');
    expect(redactText('failed to reach redis://default:s3cret@cache:6379 now')).toBe('failed to reach redis://default:***@cache:6379 now');
  });
  it('hides secret-looking keys deeply', () => {
    expect(redactDeep({ a: { password: 'x', apiKey: 'y', url: 'postgres://u:p@h/d' }, n: 1 })).toEqual({ a: { password: '[redacted]', apiKey: '[redacted]', url: 'postgres://u:***@h/d' }, n: 1 });
  });
});

describe('globToLike', () => {
  it('translates and escapes', () => {
    expect(globToLike('user:*')).toBe('user:%');
    expect(globToLike('a?c')).toBe('a_c');
    expect(globToLike('100%_done')).toBe('100\\%\\_done');
    expect(globToLike('lit\\*eral')).toBe('lit*eral');
  });
  it('refuses character classes clearly', () => {
    expect(() => globToLike('h[ae]llo')).toThrow(/character class/);
  });
});
