import { CronExpressionParser } from 'cron-parser';
import { TwlError, messageOf } from '../runtime/errors.js';

/** How far in the past an --at time may be (clock skew, a slow script) and still run at once. */
const AT_GRACE_MS = 5 * 60_000;
const ISO_WITH_ZONE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/i;

/** An IANA time zone the runtime knows, or a clear error. */
export function checkTimeZone(tz: string): string {
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: tz }).resolvedOptions().timeZone;
  } catch {
    throw new TwlError('TWL_INPUT_INVALID', `--tz ${JSON.stringify(tz.slice(0, 100))} is not a time zone.`, { actions: ['Use an IANA zone name, e.g. UTC, Europe/Paris, America/New_York.'] });
  }
}

/**
 * A cron expression the job queue will run: five fields, at minute granularity (the queue's
 * cron pass fires each due minute once, whatever the number of workers).
 */
export function checkCron(expression: string, tz = 'UTC'): string {
  const cron = expression.trim().replace(/\s+/g, ' ');
  const fields = cron ? cron.split(' ').length : 0;
  const fix = 'Write five fields: minute hour day-of-month month day-of-week, e.g. "*/5 * * * *" (every 5 minutes) or "0 9 * * 1-5" (9:00 on weekdays).';
  if (fields !== 5) {
    throw new TwlError('TWL_INPUT_INVALID', `--cron ${JSON.stringify(expression.slice(0, 200))} has ${fields} field${fields === 1 ? '' : 's'}: twl schedules to the minute, with five fields.`, { actions: [fix] });
  }
  try {
    CronExpressionParser.parse(cron, { tz, strict: false });
  } catch (err) {
    throw new TwlError('TWL_INPUT_INVALID', `--cron ${JSON.stringify(expression.slice(0, 200))} is not a valid cron expression: ${messageOf(err)}.`, { actions: [fix] });
  }
  return cron;
}

/** An --at time: ISO 8601 with Z or an offset (never guessed from the machine's zone), not in the past. */
export function checkRunAt(at: string, now = Date.now()): string {
  const ms = ISO_WITH_ZONE.test(at.trim()) ? Date.parse(at.trim()) : Number.NaN;
  if (Number.isNaN(ms)) {
    throw new TwlError('TWL_INPUT_INVALID', `--at ${JSON.stringify(at.slice(0, 100))} is not an ISO 8601 time with a time zone.`, {
      actions: ['Write it like 2026-12-24T18:00:00Z or 2026-12-24T19:00:00+01:00 (the zone is required), or use --now.'],
    });
  }
  if (ms < now - AT_GRACE_MS) {
    throw new TwlError('TWL_INPUT_INVALID', `--at ${at} is in the past (${new Date(ms).toISOString()}).`, { actions: ['Give a future time, or use --now to run it at once.'] });
  }
  return new Date(ms).toISOString();
}

/**
 * When a task runs next: its --at time while it waits for it, the next tick of its cron schedule
 * (in its zone) while it is scheduled; null when nothing is due (running, done, paused, a draft).
 */
export function nextRunOf(task: { status: string; trigger: string; runAt: string | null; cron: string | null; tz: string | null }, now = Date.now()): string | null {
  if (task.trigger === 'at' && ['pending', 'scheduled', 'waiting_approval'].includes(task.status)) return task.runAt;
  if (task.trigger === 'cron' && task.cron && ['pending', 'scheduled'].includes(task.status)) {
    try {
      return CronExpressionParser.parse(task.cron, { tz: task.tz ?? 'UTC', currentDate: new Date(now), strict: false }).next().toISOString();
    } catch {
      return null;
    }
  }
  return null;
}
