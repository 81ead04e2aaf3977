import { TwlError } from '../runtime/errors.js';
import type { Queryable } from '../store/types.js';

/*
 * Tasks, their executions and their output lines, in twl's store (migration 0012). Status
 * changes go through one table of allowed transitions (twl_task_transitions): `transition`
 * writes a status with a single UPDATE that checks it, so two workers cannot both win, and a
 * trigger refuses any other write that breaks it.
 */

export const taskStatuses = ['draft', 'pending', 'waiting_approval', 'scheduled', 'queued', 'running', 'paused', 'completed', 'failed', 'cancelled', 'dead_letter'] as const;
export type TaskStatus = (typeof taskStatuses)[number];
/** Statuses of a task that may still produce output (a run is waiting, due or in progress). */
export const liveStatuses: readonly TaskStatus[] = ['pending', 'queued', 'running', 'scheduled'];
export const executionStatuses = ['running', 'completed', 'failed', 'lost', 'cancelled'] as const;
export type ExecutionStatus = (typeof executionStatuses)[number];

export interface Task {
  id: number;
  name: string | null;
  kind: 'tool' | 'agent' | 'workflow';
  tool: string | null;
  input: Record<string, unknown>;
  queue: string;
  trigger: 'now' | 'at' | 'cron';
  runAt: string | null;
  cron: string | null;
  tz: string | null;
  status: TaskStatus;
  reason: string | null;
  retries: number;
  timeoutMs: number;
  needsApproval: boolean;
  approvedBy: string | null;
  approvedAt: string | null;
  jobId: string | null;
  createdBy: string;
  createdAt: string;
  updatedAt: string;
}

export interface ToolCall {
  tool: string;
  ok: boolean;
  ms: number;
  error?: string;
}

export interface Execution {
  id: number;
  taskId: number;
  jobId: string;
  attempt: number;
  worker: string;
  status: ExecutionStatus;
  startedAt: string;
  endedAt: string | null;
  error: string | null;
  output: unknown;
  toolCalls: ToolCall[];
}

export interface OutputLine {
  id: number;
  executionId: number;
  at: string;
  line: string;
}

type Row = Record<string, unknown>;
const iso = (v: unknown): string | null => (v === null || v === undefined ? null : new Date(v as string).toISOString());

export const toTask = (r: Row): Task => ({
  id: Number(r.id),
  name: (r.name as string) ?? null,
  kind: r.kind as Task['kind'],
  tool: (r.tool as string) ?? null,
  input: (r.input as Record<string, unknown>) ?? {},
  queue: r.queue as string,
  trigger: r.trigger as Task['trigger'],
  runAt: iso(r.run_at),
  cron: (r.cron as string) ?? null,
  tz: (r.tz as string) ?? null,
  status: r.status as TaskStatus,
  reason: (r.reason as string) ?? null,
  retries: Number(r.retries),
  timeoutMs: Number(r.timeout_ms),
  needsApproval: Boolean(r.needs_approval),
  approvedBy: (r.approved_by as string) ?? null,
  approvedAt: iso(r.approved_at),
  jobId: (r.job_id as string) ?? null,
  createdBy: r.created_by as string,
  createdAt: iso(r.created_at)!,
  updatedAt: iso(r.updated_at)!,
});

const toExecution = (r: Row): Execution => ({
  id: Number(r.id),
  taskId: Number(r.task_id),
  jobId: r.job_id as string,
  attempt: Number(r.attempt),
  worker: r.worker as string,
  status: r.status as ExecutionStatus,
  startedAt: iso(r.started_at)!,
  endedAt: iso(r.ended_at),
  error: (r.error as string) ?? null,
  output: r.output ?? null,
  toolCalls: (r.tool_calls as ToolCall[]) ?? [],
});

export const notFound = (id: number) => new TwlError('TWL_TASK_NOT_FOUND', `There is no task #${id}.`);

export interface NewTask {
  name?: string;
  kind: Task['kind'];
  tool?: string;
  input: Record<string, unknown>;
  queue: string;
  trigger: Task['trigger'];
  runAt?: string;
  cron?: string;
  tz?: string;
  retries: number;
  timeoutMs: number;
  needsApproval: boolean;
  createdBy: string;
  /** draft: kept until `twl task resume`; pending: submitted at once. */
  status: 'draft' | 'pending';
}

export async function insertTask(q: Queryable, t: NewTask): Promise<Task> {
  const { rows } = await q.query(
    `INSERT INTO twl_tasks (name, kind, tool, input, queue, trigger, run_at, cron, tz, status, retries, timeout_ms, needs_approval, created_by)
     VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING *`,
    [t.name ?? null, t.kind, t.tool ?? null, JSON.stringify(t.input), t.queue, t.trigger, t.runAt ?? null, t.cron ?? null, t.tz ?? null, t.status, t.retries, t.timeoutMs, t.needsApproval, t.createdBy],
  );
  return toTask(rows[0]!);
}

export async function getTask(q: Queryable, id: number): Promise<Task> {
  const { rows } = await q.query('SELECT * FROM twl_tasks WHERE id = $1', [id]);
  if (!rows[0]) throw notFound(id);
  return toTask(rows[0]);
}

/** Where a task in this status may go, from the transition table. */
export async function allowedFrom(q: Queryable, status: string): Promise<string[]> {
  const { rows } = await q.query<{ to_status: string }>('SELECT to_status FROM twl_task_transitions WHERE from_status = $1 ORDER BY to_status', [status]);
  return rows.map((r) => r.to_status);
}

export interface TransitionOptions {
  /** Why: the error, the dead-letter reason, who cancelled. Cleared when not given. */
  reason?: string | null;
  /** Only from these statuses (a worker claiming a run), besides what the table allows. */
  from?: TaskStatus[];
  /** Other columns to set in the same statement. */
  jobId?: string | null;
  approvedBy?: string;
}

/**
 * Moves a task to `to` in one statement that checks the transition table (and `from`), or fails
 * with TWL_TASK_STATE saying what the task is and where it could go.
 */
export async function transition(q: Queryable, id: number, to: TaskStatus, options: TransitionOptions = {}): Promise<Task> {
  const { rows } = await q.query(
    `UPDATE twl_tasks t SET status = $2, reason = $3,
       job_id = CASE WHEN $5::boolean THEN $6 ELSE t.job_id END,
       approved_by = COALESCE($7, t.approved_by), approved_at = CASE WHEN $7::text IS NULL THEN t.approved_at ELSE now() END
     WHERE t.id = $1 AND ($4::text[] IS NULL OR t.status = ANY($4::text[]))
       AND EXISTS (SELECT 1 FROM twl_task_transitions WHERE from_status = t.status AND to_status = $2)
     RETURNING *`,
    [id, to, options.reason ?? null, options.from ?? null, options.jobId !== undefined, options.jobId ?? null, options.approvedBy ?? null],
  );
  if (rows[0]) return toTask(rows[0]);
  const current = await getTask(q, id);
  const allowed = await allowedFrom(q, current.status);
  const expected = options.from && !options.from.includes(current.status) ? ` (expected ${options.from.join(' or ')})` : '';
  if (current.status === to && !expected) throw new TwlError('TWL_TASK_STATE', `Task #${id} is ${to} already.`, { details: { id, status: current.status, to, allowed } });
  throw new TwlError('TWL_TASK_STATE', `Task #${id} is ${current.status}${expected}: it cannot become ${to}. From ${current.status} it may become: ${allowed.join(', ') || 'nothing (final)'}.`, {
    details: { id, status: current.status, to, allowed },
    actions: [`Run \`twl task show ${id}\` to see its status and executions.`],
  });
}

export interface ListFilter {
  status?: TaskStatus[];
  limit: number;
  /** Tasks with an id below this (the next page). */
  before?: number;
}

export async function listTasks(q: Queryable, f: ListFilter): Promise<Task[]> {
  const { rows } = await q.query('SELECT * FROM twl_tasks WHERE ($1::text[] IS NULL OR status = ANY($1::text[])) AND ($2::bigint IS NULL OR id < $2) ORDER BY id DESC LIMIT $3', [
    f.status?.length ? f.status : null,
    f.before ?? null,
    f.limit,
  ]);
  return rows.map(toTask);
}

export async function executionsOf(q: Queryable, taskId: number): Promise<Execution[]> {
  const { rows } = await q.query('SELECT * FROM twl_task_executions WHERE task_id = $1 ORDER BY id', [taskId]);
  return rows.map(toExecution);
}

export const executionNotFound = (id: number) => new TwlError('TWL_TASK_NOT_FOUND', `There is no execution #${id}.`, { actions: ['Run `twl task show ID` to see the executions of a task.'] });

export async function getExecution(q: Queryable, id: number): Promise<Execution> {
  const { rows } = await q.query('SELECT * FROM twl_task_executions WHERE id = $1', [id]);
  if (!rows[0]) throw executionNotFound(id);
  return toExecution(rows[0]);
}

/** The newest `limit` output lines of one execution, oldest first, and how many came before them. */
export async function executionOutput(q: Queryable, executionId: number, limit: number): Promise<{ lines: OutputLine[]; omitted: number }> {
  const [{ rows }, count] = await Promise.all([
    q.query('SELECT * FROM (SELECT id, execution_id, at, line FROM twl_task_output WHERE execution_id = $1 ORDER BY id DESC LIMIT $2) x ORDER BY id', [executionId, limit]),
    q.query<{ n: unknown }>('SELECT count(*) AS n FROM twl_task_output WHERE execution_id = $1', [executionId]),
  ]);
  const lines = rows.map((r) => ({ id: Number(r.id), executionId: Number(r.execution_id), at: iso(r.at)!, line: r.line as string }));
  return { lines, omitted: Math.max(0, Number(count.rows[0]!.n) - lines.length) };
}

/**
 * Opens the execution record of an attempt. Earlier attempts of the same job still `running`
 * are attempts whose worker went away (its lease expired, and this is the retry): marked lost.
 */
export async function startExecution(q: Queryable, e: { taskId: number; jobId: string; attempt: number; worker: string }): Promise<Execution> {
  // A first attempt has no earlier one to mark.
  if (e.attempt > 1) {
    await q.query(
      `UPDATE twl_task_executions SET status = 'lost', ended_at = clock_timestamp(), error = 'the worker stopped answering (killed or cut off): its lease expired and the run was retried'
       WHERE task_id = $1 AND job_id = $2 AND status = 'running' AND attempt < $3`,
      [e.taskId, e.jobId, e.attempt],
    );
  }
  const { rows } = await q.query('INSERT INTO twl_task_executions (task_id, job_id, attempt, worker) VALUES ($1, $2, $3, $4) RETURNING *', [e.taskId, e.jobId, e.attempt, e.worker]);
  return toExecution(rows[0]!);
}

export async function finishExecution(q: Queryable, id: number, f: { status: Exclude<ExecutionStatus, 'running'>; error?: string; output?: unknown; toolCalls: ToolCall[] }): Promise<void> {
  await q.query("UPDATE twl_task_executions SET status = $2, ended_at = clock_timestamp(), error = $3, output = $4::jsonb, tool_calls = $5::jsonb WHERE id = $1 AND status = 'running'", [
    id,
    f.status,
    f.error ?? null,
    f.output === undefined ? null : JSON.stringify(f.output),
    JSON.stringify(f.toolCalls),
  ]);
}

/** Marks the attempts of a task still `running` as lost (its run was dead-lettered after its worker went away). */
export async function loseRunning(q: Queryable, taskId: number, why: string): Promise<void> {
  await q.query("UPDATE twl_task_executions SET status = 'lost', ended_at = clock_timestamp(), error = $2 WHERE task_id = $1 AND status = 'running'", [taskId, why]);
}

export async function appendOutput(q: Queryable, executionId: number, lines: string[]): Promise<void> {
  if (!lines.length) return;
  await q.query('INSERT INTO twl_task_output (execution_id, line) SELECT $1, unnest($2::text[])', [executionId, lines]);
}

/** Output lines of a task's executions after line `after` (for --follow), oldest first. */
export async function outputOf(q: Queryable, taskId: number, after = 0, limit = 1000): Promise<OutputLine[]> {
  const { rows } = await q.query(
    `SELECT o.id, o.execution_id, o.at, o.line FROM twl_task_output o JOIN twl_task_executions e ON e.id = o.execution_id
     WHERE e.task_id = $1 AND o.id > $2 ORDER BY o.id LIMIT $3`,
    [taskId, after, limit],
  );
  return rows.map((r) => ({ id: Number(r.id), executionId: Number(r.execution_id), at: iso(r.at)!, line: r.line as string }));
}
