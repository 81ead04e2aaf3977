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
  /** The catalog namespaces its runs may reach: those of the API key that created it; null: every one. */
  namespaces: string[] | null;
  createdBy: string;
  /** The API key that created it (its id); null: created without a key (the command line, stdio, OAuth). Its runs stop once that key is revoked. */
  createdByKey: number | null;
  /** When its creator's grant ends: the `exp` of the OAuth access token that created it; null: it does not end by itself (the command line, stdio, an API key). Its runs stop then. */
  grantExpiresAt: string | null;
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
  namespaces: (r.namespaces as string[] | null) ?? null,
  createdBy: r.created_by as string,
  createdByKey: r.created_by_key === null || r.created_by_key === undefined ? null : Number(r.created_by_key),
  grantExpiresAt: iso(r.grant_expires_at),
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

/*
 * Who may see a task and act on it. A caller whose key is granted namespaces (`twl keys create
 * --namespaces`) sees only the tasks whose grant lies within its own: a task created by a key
 * granted twl and fx is hidden from a key granted only twl, and a task of an unlimited creator
 * (null: every namespace) from every limited key. Otherwise a limited key could run, approve or
 * read someone else's task, and reach through its runs what its own calls cannot. Callers with no
 * grant (the command line, stdio, unlimited keys) see every task.
 */

/** True when a caller granted `namespaces` (undefined: every one) may see and act on the task. */
export const withinGrant = (task: Pick<Task, 'namespaces'>, namespaces: readonly string[] | undefined): boolean =>
  namespaces === undefined || (task.namespaces !== null && task.namespaces.every((n) => namespaces.includes(n)));

/**
 * A task hidden from a limited caller, said as a missing one is (the same words whether it exists
 * or not: a key learns nothing of the tasks outside its grant). `code` TWL_TASK_NOT_FOUND for a read
 * (show, logs), TWL_NAMESPACE_DENIED for an action (run, approve, cancel…): a refusal, audited.
 */
export const hiddenTask = (id: number, namespaces: readonly string[], code: 'TWL_TASK_NOT_FOUND' | 'TWL_NAMESPACE_DENIED' = 'TWL_TASK_NOT_FOUND') =>
  new TwlError(code, `No task #${id} in the namespaces this key is granted (${namespaces.join(', ') || 'none'}).`, {
    details: { namespaces },
    actions: ['Run `task_list` with this key to see the tasks it may see: those created within its namespaces. A task created by a wider key (or from the command line) is for that key, or the command line.'],
  });

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
  /** The creator's namespace grant (its API key's `--namespaces`); undefined: every namespace. */
  namespaces?: string[];
  createdBy: string;
  /** The creator's API key id; undefined: created without a key. */
  createdByKey?: number;
  /** When the creator's grant ends (its OAuth access token's `exp`, ISO 8601); undefined: it does not end by itself. */
  grantExpiresAt?: string;
  /** draft: kept until `twl task resume`; pending: submitted at once. */
  status: 'draft' | 'pending';
}

export async function insertTask(q: Queryable, t: NewTask): Promise<Task> {
  const { rows } = await q.query(
    `INSERT INTO twl_tasks (name, kind, tool, input, queue, trigger, run_at, cron, tz, status, retries, timeout_ms, needs_approval, namespaces, created_by, created_by_key, grant_expires_at)
     VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14::text[], $15, $16, $17) RETURNING *`,
    [t.name ?? null, t.kind, t.tool ?? null, JSON.stringify(t.input), t.queue, t.trigger, t.runAt ?? null, t.cron ?? null, t.tz ?? null, t.status, t.retries, t.timeoutMs, t.needsApproval, t.namespaces ?? null, t.createdBy, t.createdByKey ?? null, t.grantExpiresAt ?? null],
  );
  return toTask(rows[0]!);
}

/** A task by id; with a caller's grant (`namespaces`), only one within it (else not found, as a missing one). */
export async function getTask(q: Queryable, id: number, namespaces?: readonly string[]): Promise<Task> {
  const { rows } = await q.query('SELECT * FROM twl_tasks WHERE id = $1', [id]);
  const task = rows[0] ? toTask(rows[0]) : undefined;
  if (namespaces && !(task && withinGrant(task, namespaces))) throw hiddenTask(id, namespaces);
  if (!task) throw notFound(id);
  return task;
}

/**
 * Why the key that created a task no longer lets it run: revoked, or gone from the store (a row
 * deleted by hand). Undefined while the key is live, and for a task created without a key.
 */
export async function revokedKeyOf(q: Queryable, task: Pick<Task, 'id' | 'createdByKey'>): Promise<string | undefined> {
  if (task.createdByKey === null) return undefined;
  const { rows } = await q.query<{ revoked_at: unknown }>('SELECT revoked_at FROM twl_api_keys WHERE id = $1', [task.createdByKey]);
  if (!rows[0]) return `The API key #${task.createdByKey} that created task #${task.id} no longer exists: the task no longer runs.`;
  if (rows[0].revoked_at !== null) return `The API key #${task.createdByKey} that created task #${task.id} was revoked at ${iso(rows[0].revoked_at)}: the task no longer runs.`;
  return undefined;
}

/**
 * Why the grant a task acts with has ended at `now`: its creator's OAuth access token expired
 * (its `exp`, recorded at creation). Undefined while it lasts, and for a task whose grant does not
 * end by itself (created from the command line, stdio, or with an API key: see revokedKeyOf).
 */
export function expiredGrantOf(task: Pick<Task, 'id' | 'grantExpiresAt' | 'createdBy'>, now = Date.now()): string | undefined {
  if (task.grantExpiresAt === null) return undefined;
  // An unreadable time is an ended grant: fail closed.
  const ends = Date.parse(task.grantExpiresAt);
  if (ends > now) return undefined;
  return `The grant of ${task.createdBy}, who created task #${task.id} with an OAuth access token, ended when that token expired at ${task.grantExpiresAt}: the task no longer runs.`;
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
  /** A caller's grant: only the tasks within it (withinGrant); undefined: every task. */
  namespaces?: readonly string[];
}

export async function listTasks(q: Queryable, f: ListFilter): Promise<Task[]> {
  const { rows } = await q.query(
    `SELECT * FROM twl_tasks WHERE ($1::text[] IS NULL OR status = ANY($1::text[])) AND ($2::bigint IS NULL OR id < $2)
       AND ($4::text[] IS NULL OR (namespaces IS NOT NULL AND namespaces <@ $4::text[]))
     ORDER BY id DESC LIMIT $3`,
    [f.status?.length ? f.status : null, f.before ?? null, f.limit, f.namespaces ? [...f.namespaces] : null],
  );
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

export interface RunClaim {
  taskId: number;
  jobId: string;
  /** 1 for a job's first attempt; pg-boss's retryCount + 1 after. */
  attempt: number;
  worker: string;
}

export type Claimed = { task: Task; execution: Execution; takeover: boolean } | { skipped: string; task?: Task };

/** A row that came back as JSON (row_to_json): the same columns, timestamps as text. */
const fromJson = (v: unknown): Row => (typeof v === 'string' ? (JSON.parse(v) as Row) : (v as Row));

/**
 * Claims a run of a task for one attempt of a job: the task goes running and the attempt's
 * execution record opens, in one statement (one round trip; never one without the other).
 *
 * Safe to ask again when the answer was lost (the store went away mid-statement): the
 * execution of this (job, attempt) is then found and returned. Refused, with why, when the task
 * is not waiting to run (cancelled, paused, a cron tick while the last run still runs) or this
 * job's run completed already (its worker's completion was lost with the connection, and the
 * job came back). A retry of a job whose worker went silent takes the running task over, and
 * marks the silent attempt lost.
 */
export async function claimRun(q: Queryable, c: RunClaim): Promise<Claimed> {
  const { rows } = await q.query<{ task: unknown; execution: unknown }>(
    `WITH claimed AS (
       UPDATE twl_tasks t SET status = 'running', reason = NULL
       WHERE t.id = $1 AND t.status IN ('queued', 'scheduled')
         AND NOT EXISTS (SELECT 1 FROM twl_task_executions d WHERE d.job_id = $2 AND d.status = 'completed')
       RETURNING t.*
     ), opened AS (
       INSERT INTO twl_task_executions (task_id, job_id, attempt, worker) SELECT id, $2, $3, $4 FROM claimed RETURNING *
     )
     SELECT row_to_json(claimed) AS task, row_to_json(opened) AS execution FROM claimed, opened`,
    [c.taskId, c.jobId, c.attempt, c.worker],
  );
  if (rows[0]) return { task: toTask(fromJson(rows[0].task)), execution: toExecution(fromJson(rows[0].execution)), takeover: false };
  // Refused: read why (a rare path, so two more round trips are fine).
  const { rows: found } = await q.query('SELECT * FROM twl_tasks WHERE id = $1', [c.taskId]);
  if (!found[0]) return { skipped: 'the task no longer exists' };
  const task = toTask(found[0]);
  const { rows: mine } = await q.query('SELECT * FROM twl_task_executions WHERE job_id = $1 ORDER BY attempt', [c.jobId]);
  const executions = mine.map(toExecution);
  const same = executions.find((e) => e.attempt === c.attempt);
  // This very claim, asked before: its answer was lost, not its work.
  if (same?.status === 'running' && task.status === 'running') return { task, execution: same, takeover: false };
  if (executions.some((e) => e.status === 'completed')) return { skipped: 'this run completed already (its job came back after its completion was lost)', task };
  // The attempt before this one lost its worker (lease expired): the task is still running, and this takes it over.
  if (task.status === 'running' && c.attempt > 1 && !same) return { task, execution: await startExecution(q, c), takeover: true };
  // Cancelled, paused, or a cron tick while the previous run still runs: never two runs of one task at once.
  return { skipped: `the task was ${task.status}`, task };
}

/**
 * Ends an attempt in one statement: its last output lines, its execution record, and the task's
 * next status (when the transition table allows it from running: someone who cancelled the
 * task meanwhile keeps their status). Asked again after a lost answer, it changes nothing twice:
 * the execution is only ended while running, the task only moved while running.
 */
export async function finishRun(
  q: Queryable,
  f: { taskId: number; executionId: number; lines: string[]; status: Exclude<ExecutionStatus, 'running'>; error?: string; output?: unknown; toolCalls: ToolCall[]; next?: TaskStatus; reason?: string | null },
): Promise<{ moved: boolean }> {
  const { rows } = await q.query<{ moved: boolean }>(
    // Written in this order (lines, then the execution, then the task), as the change feed tells it:
    // a follower sees the last lines before the execution ends. The lines only while the execution
    // runs, so a second ask writes none again.
    `WITH lines AS (
       INSERT INTO twl_task_output (execution_id, line)
       SELECT $2, line FROM unnest($7::text[]) WITH ORDINALITY AS l(line, n)
       WHERE EXISTS (SELECT 1 FROM twl_task_executions WHERE id = $2 AND status = 'running') ORDER BY n RETURNING id
     ), ended AS (
       UPDATE twl_task_executions SET status = $3, ended_at = clock_timestamp(), error = $4, output = $5::jsonb, tool_calls = $6::jsonb
       WHERE id = $2 AND status = 'running' RETURNING id
     ), moved AS (
       UPDATE twl_tasks t SET status = $8, reason = $9
       WHERE t.id = $1 AND $8::text IS NOT NULL AND t.status = 'running' AND EXISTS (SELECT 1 FROM ended)
         AND EXISTS (SELECT 1 FROM twl_task_transitions WHERE from_status = 'running' AND to_status = $8)
       RETURNING t.id
     )
     SELECT (SELECT count(*) FROM lines) AS lines, (SELECT count(*) FROM ended) AS ended, EXISTS (SELECT 1 FROM moved) AS moved`,
    [f.taskId, f.executionId, f.status, f.error ?? null, f.output === undefined ? null : JSON.stringify(f.output), JSON.stringify(f.toolCalls), f.lines, f.next ?? null, f.reason ?? null],
  );
  return { moved: Boolean(rows[0]?.moved) };
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
