/** Pure formatting shared by the Ink dashboard and the plain-text snapshot (no React here). */

const ticks = '▁▂▃▄▅▆▇█';

/** A sparkline of the values, one character each, scaled to the largest; · where there is nothing. */
export function sparkline(values: number[]): string {
  const max = Math.max(0, ...values);
  return values.map((v) => (v <= 0 ? '·' : ticks[Math.min(ticks.length - 1, Math.max(0, Math.ceil((v / max) * ticks.length) - 1))]!)).join('');
}

/** 5s, 12m, 3h, 4d. */
export function age(iso: string, now = Date.now()): string {
  const seconds = Math.max(0, Math.round((now - new Date(iso).getTime()) / 1000));
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes}m`;
  if (minutes < 48 * 60) return `${Math.round(minutes / 60)}h`;
  return `${Math.round(minutes / 1440)}d`;
}

export const ms = (v: number | null | undefined): string => (v === null || v === undefined ? '—' : v < 10 ? `${v.toFixed(1)}ms` : v < 10_000 ? `${Math.round(v)}ms` : `${(v / 1000).toFixed(1)}s`);

export const percent = (ratio: number): string => (ratio === 0 ? '0%' : ratio < 0.001 ? '<0.1%' : `${(ratio * 100).toFixed(ratio < 0.1 ? 1 : 0)}%`);

export const clock = (iso: string): string => new Date(iso).toTimeString().slice(0, 8);

/** Cuts to width with an ellipsis, and pads to it. */
export function fit(text: string, width: number): string {
  if (width <= 0) return '';
  const flat = text.replace(/\s+/g, ' ');
  const chars = [...flat];
  if (chars.length > width) return `${chars.slice(0, Math.max(0, width - 1)).join('')}…`;
  return flat + ' '.repeat(width - chars.length);
}

export const count = (n: number): string => n.toLocaleString('en');

/** Whether to colour: no when NO_COLOR is set to anything non-empty (no-color.org), or on a dumb terminal. */
export const colorEnabled = (env: NodeJS.ProcessEnv = process.env): boolean => !(env.NO_COLOR !== undefined && env.NO_COLOR !== '') && env.TERM !== 'dumb';

export type Tone = 'good' | 'warn' | 'bad' | 'info' | 'muted' | 'accent';

export const toneColor: Record<Tone, string> = { good: 'green', warn: 'yellow', bad: 'red', info: 'cyan', muted: 'gray', accent: 'magenta' };

export const statusTone: Record<string, Tone> = {
  new: 'info',
  triaged: 'accent',
  in_progress: 'warn',
  waiting_approval: 'warn',
  escalated: 'bad',
  reopened: 'bad',
  resolved: 'good',
  closed: 'muted',
};

export const sentimentTone: Record<string, Tone> = { negative: 'bad', neutral: 'muted', positive: 'good' };

export const priorityTone: Record<string, Tone> = { urgent: 'bad', high: 'warn', medium: 'info', low: 'muted' };

export const healthTone: Record<string, Tone> = { ok: 'good', degraded: 'warn', down: 'bad', ready: 'good', unavailable: 'bad' };

/** Marks that carry the state without colour. */
export const healthMark: Record<string, string> = { ok: '●', degraded: '◐', down: '○', ready: '●', unavailable: '○' };

export const eventMark: Record<string, string> = { ok: '✔', failed: '✖', skipped: '↷', cancelled: '■', waiting: '⏸' };

/** A task's status colour: running and waiting in progress colours, failures red, done green. */
export const taskTone: Record<string, Tone> = {
  draft: 'muted',
  pending: 'info',
  waiting_approval: 'warn',
  scheduled: 'accent',
  queued: 'info',
  running: 'warn',
  paused: 'muted',
  completed: 'good',
  failed: 'bad',
  cancelled: 'muted',
  dead_letter: 'bad',
  lost: 'bad',
};

/** "in 4m", "due", or "—". */
export function untilText(iso: string | null, now = Date.now()): string {
  if (!iso) return '—';
  const ms = new Date(iso).getTime() - now;
  return ms <= 0 ? 'due' : `in ${age(new Date(now - ms).toISOString(), now)}`;
}

/** The last execution in a few words: "#12 completed 3m ago", "#13 running 20s (attempt 2)". */
export function lastText(last: { id: number; status: string; attempt: number; startedAt: string; endedAt: string | null } | null, now = Date.now()): string {
  if (!last) return 'never ran';
  const attempt = last.attempt > 1 ? ` (attempt ${last.attempt})` : '';
  return last.endedAt ? `#${last.id} ${last.status} ${age(last.endedAt, now)} ago${attempt}` : `#${last.id} ${last.status} ${age(last.startedAt, now)}${attempt}`;
}
