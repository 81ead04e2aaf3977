import type { PgBoss, SendOptions, Db } from 'pg-boss';
import type { Runtime } from '../runtime/context.js';
import { TwlError, isTwlError, namespaceRefusalOf } from '../runtime/errors.js';
import type { Queryable } from '../store/types.js';
import { DEAD_LETTER_QUEUE, ensureQueues, jobQueue, openQueue } from './queue.js';
import { hiddenTask, insertTask, notFound, toTask, transition, withinGrant, type NewTask, type Task } from './tasks.js';

/*
 * What task ops do to the queue: every change that touches both twl's task row and pg-boss
 * (a job sent, a schedule set or removed) runs in one transaction on pg-boss's connection, so a
 * task is never left half-submitted and a worker never sees a job whose task row is not there.
 */

/** The job data of a task run. */
export interface RunData {
  taskId: number;
}

/** twl's Queryable over a pg-boss transaction. */
const queryableOf = (db: Db): Queryable => ({
  query: async <R>(sql: string, params?: unknown[]) => {
    const { rows } = await db.executeSql(sql, params ?? []);
    return { rows: rows as R[], fields: [], rowCount: rows.length };
  },
  exec: async (sql: string) => {
    await db.executeSql(sql);
  },
});

/** Runs `fn` with the job queue open (and closed after), or with the one given (a bulk producer keeps one). */
export async function withQueue<T>(runtime: Runtime, fn: (boss: PgBoss) => Promise<T>, open?: PgBoss): Promise<T> {
  if (open) return fn(open);
  const boss = await openQueue(runtime, { worker: false, max: 2 });
  try {
    return await fn(boss);
  } finally {
    await boss.stop({ graceful: false, close: true, timeout: 1000 }).catch(() => undefined);
  }
}

/** Runs `fn` in one transaction on pg-boss's connection: twl rows and jobs commit together. */
export async function inTransaction<T>(boss: PgBoss, fn: (tx: Queryable, db: Db) => Promise<T>): Promise<T> {
  const handle = await boss.getDb().beginTransaction!();
  try {
    const result = await fn(queryableOf(handle.db), handle.db);
    await handle.commit();
    return result;
  } catch (err) {
    await handle.rollback();
    throw err;
  }
}

/** The send options of a task's runs: its retries (exponential backoff), its lease, its dead-letter queue. */
export const jobOptions = (runtime: Runtime, task: Task): SendOptions => ({
  retryLimit: task.retries,
  retryDelay: Math.max(1, Math.round(runtime.config.tasks.retryDelay / 1000)),
  retryBackoff: true,
  // The task's own timeout stops its tool; this is pg-boss's backstop beyond it.
  expireInSeconds: Math.ceil(task.timeoutMs / 1000) + 30,
  deadLetter: DEAD_LETTER_QUEUE,
});

/** Sends a run of the task now (or at `startAfter`); moves it to queued (scheduled). */
async function sendRun(runtime: Runtime, boss: PgBoss, tx: Queryable, db: Db, task: Task, startAfter?: Date, reason?: string): Promise<Task> {
  const jobId = await boss.send(jobQueue(task.queue), { taskId: task.id } satisfies RunData, { ...jobOptions(runtime, task), db, ...(startAfter ? { startAfter } : {}) });
  if (!jobId) throw new Error(`the job queue did not accept the run of task #${task.id}`);
  return transition(tx, task.id, startAfter ? 'scheduled' : 'queued', { jobId, reason });
}

/**
 * Puts a pending (or paused) task in the queue as its trigger says: a cron schedule, a run at
 * its time, or a run now; or, when its tool needs approval not yet given, waiting_approval.
 */
async function submit(runtime: Runtime, boss: PgBoss, tx: Queryable, db: Db, task: Task): Promise<Task> {
  if (task.needsApproval && !task.approvedBy) {
    return transition(tx, task.id, 'waiting_approval', { reason: `${task.tool} needs approval: run \`twl task approve ${task.id}\` (manager role)` });
  }
  await ensureQueues(boss, runtime, [task.queue]);
  if (task.trigger === 'cron') {
    await boss.schedule(jobQueue(task.queue), task.cron!, { taskId: task.id } satisfies RunData, { ...jobOptions(runtime, task), tz: task.tz ?? 'UTC', key: String(task.id), db });
    return transition(tx, task.id, 'scheduled', { jobId: null });
  }
  const at = task.runAt ? new Date(task.runAt) : undefined;
  return sendRun(runtime, boss, tx, db, task, at && at.getTime() > Date.now() ? at : undefined);
}

/** Creates a task and submits it (unless a draft), in one transaction. */
export async function createTask(runtime: Runtime, t: NewTask, queue?: PgBoss): Promise<Task> {
  return withQueue(
    runtime,
    (boss) =>
      inTransaction(boss, async (tx, db) => {
        const task = await insertTask(tx, t);
        if (t.status === 'draft') return task;
        return submit(runtime, boss, tx, db, task);
      }),
    queue,
  );
}

/** Takes a task's runs out of the queue: its schedule, and its run waiting there. */
async function withdraw(boss: PgBoss, db: Db, task: Task): Promise<void> {
  if (task.cron) await boss.unschedule(jobQueue(task.queue), String(task.id), { db });
  if (task.jobId) await boss.cancel(jobQueue(task.queue), task.jobId, { db }).catch(() => undefined);
}

/** Who acts on a task: recorded in its reason; a key's grant limits which tasks it may act on. */
export interface TaskCaller {
  actor: string;
  /** The caller's key's namespaces; undefined: every one (the command line, an unlimited key). */
  namespaces?: string[];
}

/**
 * The task, locked until the transaction ends: a worker's status change waits for this one. A task
 * outside a limited caller's grant is refused as a missing one would be (TWL_NAMESPACE_DENIED, the
 * same words whether it exists or not; the catalog writes the audit row of the refusal).
 */
const lockTask = async (tx: Queryable, id: number, caller?: TaskCaller): Promise<Task> => {
  const { rows } = await tx.query('SELECT * FROM twl_tasks WHERE id = $1 FOR UPDATE', [id]);
  const task = rows[0] ? toTask(rows[0]) : undefined;
  if (caller?.namespaces && !(task && withinGrant(task, caller.namespaces))) throw hiddenTask(id, caller.namespaces, 'TWL_NAMESPACE_DENIED');
  if (!task) throw notFound(id);
  return task;
};

export async function cancelTask(runtime: Runtime, id: number, caller: TaskCaller): Promise<Task> {
  const { actor } = caller;
  return withQueue(runtime, (boss) =>
    inTransaction(boss, async (tx, db) => {
      const task = await lockTask(tx, id, caller);
      const done = await transition(tx, id, 'cancelled', { reason: `cancelled by ${actor}${task.status === 'running' ? ' while it ran (its worker stops it)' : ''}` });
      await withdraw(boss, db, task);
      return done;
    }),
  );
}

export async function pauseTask(runtime: Runtime, id: number, caller: TaskCaller): Promise<Task> {
  const { actor } = caller;
  return withQueue(runtime, (boss) =>
    inTransaction(boss, async (tx, db) => {
      const task = await lockTask(tx, id, caller);
      const paused = await transition(tx, id, 'paused', { reason: `paused by ${actor}`, jobId: null });
      await withdraw(boss, db, task);
      return paused;
    }),
  );
}

/** A paused task goes back in the queue; a draft is submitted. */
export async function resumeTask(runtime: Runtime, id: number, caller: TaskCaller): Promise<Task> {
  return withQueue(runtime, (boss) =>
    inTransaction(boss, async (tx, db) => {
      const task = await lockTask(tx, id, caller);
      if (task.status === 'draft') return submit(runtime, boss, tx, db, await transition(tx, id, 'pending'));
      if (task.status !== 'paused') {
        throw new TwlError('TWL_TASK_STATE', `Task #${id} is ${task.status}: only a paused task (or a draft) can be resumed.`, { actions: [`Run \`twl task run ${id}\` to run it now.`] });
      }
      return submit(runtime, boss, tx, db, task);
    }),
  );
}

/** Runs a task now, once more: a finished task again, a scheduled one ahead of its time. */
export async function runTaskNow(runtime: Runtime, id: number, caller: TaskCaller): Promise<Task> {
  const { actor } = caller;
  return withQueue(runtime, (boss) =>
    inTransaction(boss, async (tx, db) => {
      const task = await lockTask(tx, id, caller);
      if (task.status === 'running' || task.status === 'queued') {
        throw new TwlError('TWL_TASK_STATE', `Task #${id} is ${task.status} already.`, { actions: [`Follow it with \`twl task logs ${id} --follow\`.`] });
      }
      if (task.needsApproval && !task.approvedBy) {
        throw new TwlError('TWL_TASK_STATE', `Task #${id} calls ${task.tool}, which needs approval: approve it first.`, { actions: [`Run \`twl task approve ${id}\` (manager role).`] });
      }
      // A one-off run waiting for its time runs now instead (a cron schedule stays as it is).
      if (task.jobId && task.status === 'scheduled') await boss.cancel(jobQueue(task.queue), task.jobId, { db }).catch(() => undefined);
      await ensureQueues(boss, runtime, [task.queue]);
      return sendRun(runtime, boss, tx, db, task, undefined, `run now by ${actor}`);
    }),
  );
}

export async function approveTask(runtime: Runtime, id: number, caller: TaskCaller): Promise<Task> {
  const { actor } = caller;
  return withQueue(runtime, (boss) =>
    inTransaction(boss, async (tx, db) => {
      const task = await lockTask(tx, id, caller);
      if (task.status !== 'waiting_approval') {
        throw new TwlError('TWL_TASK_STATE', `Task #${id} is ${task.status}, not waiting for approval: there is nothing to approve.`, { actions: [`Run \`twl task show ${id}\`.`] });
      }
      return submit(runtime, boss, tx, db, await transition(tx, id, 'pending', { approvedBy: actor, reason: `approved by ${actor}` }));
    }),
  );
}

/** True when an error is the task's own fault (it would fail the same way again): no retry. */
export const isPermanent = (err: unknown): boolean =>
  (isTwlError(err) && ['TWL_INPUT_INVALID', 'TWL_TOOL_UNKNOWN', 'TWL_APPROVAL_REQUIRED', 'TWL_POLICY_DENIED', 'TWL_ROLE_DENIED', 'TWL_SQL_REFUSED', 'TWL_NOT_AVAILABLE', 'TWL_AGENT_STATE', 'TWL_AGENT_NOT_FOUND', 'TWL_KEY_REVOKED', 'TWL_GRANT_EXPIRED'].includes(err.code)) ||
  // Outside the creator's grant (the tool, or a workflow's step): the grant will not have grown by the next attempt.
  namespaceRefusalOf(err) !== undefined;
