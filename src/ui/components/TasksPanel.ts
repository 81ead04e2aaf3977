import React from 'react';
import { Text } from 'ink';
import { count, fit, lastText, taskTone, untilText } from '../format.js';
import { contentRows, type Rect } from '../layout.js';
import type { TasksView } from '../source.js';
import { Line, Panel } from './Panel.js';
import { Tinted } from './Tinted.js';

const h = React.createElement;

/**
 * The studio's tasks: running ones first, then the newest, each with its status, what it runs,
 * when it runs next and its last execution. Kept live by the change feed (a status change of a
 * task or an execution reloads it).
 */
export function TasksPanel(p: { rect: Rect; focused: boolean; tasks: TasksView | null; error?: string; scroll: number; now: number }) {
  if (!p.tasks) return h(Panel, { title: 'Tasks', focused: p.focused, rect: p.rect }, h(Line, { dim: !p.error, tone: p.error ? 'red' : undefined }, p.error ?? 'Loading…'));
  const room = contentRows(p.rect);
  const list = p.tasks.tasks;
  const by = p.tasks.byStatus;
  const total = Object.values(by).reduce((a, b) => a + b, 0);
  const note = [by.running ? `${count(by.running)} running` : '', by.queued ? `${count(by.queued)} queued` : '', by.scheduled ? `${count(by.scheduled)} scheduled` : '', by.failed || by.dead_letter ? `${count((by.failed ?? 0) + (by.dead_letter ?? 0))} failed` : '']
    .filter(Boolean)
    .join(' · ');
  if (!list.length) return h(Panel, { title: 'Tasks', note: '0', focused: p.focused, rect: p.rect }, h(Line, { dim: true }, p.error ?? 'No tasks yet: twl task create --tool … --now'));
  const start = Math.max(0, Math.min(p.scroll, list.length - room));
  return h(
    Panel,
    { title: 'Tasks', note: `${note || `${count(total)} tasks`}${p.error ? ` · ${p.error}` : ''}`, focused: p.focused, rect: p.rect },
    ...list.slice(start, start + room).map((t) =>
      h(
        Text,
        { key: t.id, wrap: 'truncate' },
        `${fit(`#${t.id}`, 6)} `,
        h(Tinted, { tone: taskTone[t.status] ?? 'muted' }, fit(t.status, 12)),
        ` ${fit(t.name ?? t.what, 24)} ${fit(t.trigger === 'cron' ? `next ${untilText(t.nextRun, p.now)}` : t.nextRun ? `at ${untilText(t.nextRun, p.now)}` : '', 12)} `,
        h(Tinted, { tone: t.last ? (taskTone[t.last.status] ?? 'muted') : 'muted' }, lastText(t.last, p.now)),
        t.reason && ['failed', 'dead_letter', 'waiting_approval'].includes(t.status) ? ` · ${t.reason}` : '',
      ),
    ),
  );
}
