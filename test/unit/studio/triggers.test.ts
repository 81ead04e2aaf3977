import { describe, expect, it } from 'vitest';
import { checkCron, checkRunAt, checkTimeZone } from '../../../src/studio/triggers.js';

describe('task triggers', () => {
  it('accepts five-field cron expressions, normalising their spaces', () => {
    expect(checkCron('*/5 * * * *')).toBe('*/5 * * * *');
    expect(checkCron('  0   9 * *   1-5 ', 'Europe/Paris')).toBe('0 9 * * 1-5');
  });

  it.each([
    ['', /has 0 fields/],
    ['* * * *', /has 4 fields/],
    ['0 */5 * * * *', /has 6 fields: twl schedules to the minute/],
    ['60 * * * *', /is not a valid cron expression/],
    ['* 24 * * *', /is not a valid cron expression/],
    ['* * 32 * *', /is not a valid cron expression/],
    ['* * * 13 *', /is not a valid cron expression/],
    ['a b c d e', /is not a valid cron expression/],
    ['*/0 * * * *', /is not a valid cron expression/],
    ['; rm -rf / # * *', /is not a valid cron expression|fields/],
    ['\u0000 * * * *', /is not a valid cron expression/],
  ])('refuses the cron expression %j with the fix', (cron, message) => {
    let error: { message: string; actions: string[]; code: string } | undefined;
    try {
      checkCron(cron);
    } catch (err) {
      error = err as typeof error;
    }
    expect(error?.code).toBe('TWL_INPUT_INVALID');
    expect(error?.message).toMatch(message);
    expect(error?.actions[0]).toContain('five fields');
  });

  it('takes IANA time zones and refuses anything else', () => {
    expect(checkTimeZone('Europe/Paris')).toBe('Europe/Paris');
    expect(checkTimeZone('UTC')).toBe('UTC');
    for (const bad of ['Mars/Olympus', 'Europe/../etc/passwd', '', 'GMT+25']) expect(() => checkTimeZone(bad), bad).toThrow(/is not a time zone/);
  });

  it('takes ISO 8601 times with a zone, never guessing one, and refuses the past', () => {
    const now = Date.parse('2026-12-06T08:00:00Z');
    expect(checkRunAt('2026-12-24T18:00:00Z', now)).toBe('2026-12-24T18:00:00.000Z');
    expect(checkRunAt('2026-12-24T19:00:00+01:00', now)).toBe('2026-12-24T18:00:00.000Z');
    // A little in the past (clock skew, a slow script) runs at once.
    expect(checkRunAt('2026-12-06T07:58:00Z', now)).toBe('2026-12-06T07:58:00.000Z');
    for (const bad of ['2026-12-24T18:00:00', '2026-12-24', 'tomorrow', '2026-13-01T00:00:00Z', '1796544000', '2026-12-24T18:00:00Z; DROP TABLE twl_tasks']) {
      expect(() => checkRunAt(bad, now), bad).toThrow(/is not an ISO 8601 time with a time zone/);
    }
    expect(() => checkRunAt('2026-12-06T07:00:00Z', now)).toThrow(/is in the past/);
  });
});
