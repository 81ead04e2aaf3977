import type { Task } from '../studio/tasks.js';
import { nextRunOf } from '../studio/triggers.js';
import type { TaskRow } from './source.js';

/** A row of the Tasks panel from a task and its last execution (loaded lazily: cron-parser computes the next run). */
export const taskRow = (t: Task, last: TaskRow['last'], now = Date.now()): TaskRow => ({
  id: t.id,
  name: t.name,
  what: t.tool ?? t.kind,
  status: t.status,
  reason: t.reason,
  trigger: t.trigger,
  cron: t.cron,
  nextRun: nextRunOf(t, now),
  last,
});
