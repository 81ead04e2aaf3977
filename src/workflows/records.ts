import type { Queryable } from '../store/types.js';
import type { RunStatus, StepStatus } from './types.js';

/** One step run as recorded (twl_workflow_steps). */
export interface StepRecord {
  seq: number;
  parent: number | null;
  path: string;
  id: string;
  kind: string;
  status: StepStatus;
  input: unknown;
  output: unknown;
  decision: { decision: string; detail?: unknown } | null;
  error: { code: string; message: string } | null;
  startedAt: string;
  durationMs: number | null;
}

/** One run as recorded (twl_workflow_runs). */
export interface RunRecord {
  id: number;
  workflow: string;
  status: RunStatus;
  input: unknown;
  output: unknown;
  error: { code: string; message: string } | null;
  step: string | null;
  actor: string;
  face: string;
  startedAt: string;
  finishedAt: string | null;
  durationMs: number | null;
}

const iso = (v: unknown): string | null => (v === null || v === undefined ? null : new Date(v as string).toISOString());
/** JSON for a jsonb column: undefined is SQL NULL. */
const json = (v: unknown): string | null => (v === undefined ? null : JSON.stringify(v));

const runOf = (r: Record<string, unknown>): RunRecord => ({
  id: Number(r.id),
  workflow: String(r.workflow),
  status: r.status as RunStatus,
  input: r.input ?? null,
  output: r.output ?? null,
  error: (r.error as RunRecord['error']) ?? null,
  step: (r.step as string | null) ?? null,
  actor: String(r.actor),
  face: String(r.face),
  startedAt: iso(r.started_at)!,
  finishedAt: iso(r.finished_at),
  durationMs: r.duration_ms === null || r.duration_ms === undefined ? null : Number(r.duration_ms),
});

const stepOf = (r: Record<string, unknown>): StepRecord => ({
  seq: Number(r.seq),
  parent: r.parent_seq === null || r.parent_seq === undefined ? null : Number(r.parent_seq),
  path: String(r.path),
  id: String(r.step_id),
  kind: String(r.kind),
  status: r.status as StepStatus,
  input: r.input ?? null,
  output: r.output ?? null,
  decision: (r.decision as StepRecord['decision']) ?? null,
  error: (r.error as StepRecord['error']) ?? null,
  startedAt: iso(r.started_at)!,
  durationMs: r.duration_ms === null || r.duration_ms === undefined ? null : Number(r.duration_ms),
});

/** A run id, reserved before anything is written (a run that ends quickly is written in one statement). */
export async function reserveRunId(q: Queryable): Promise<number> {
  const { rows } = await q.query<{ id: unknown }>("SELECT nextval(pg_get_serial_sequence('twl_workflow_runs', 'id')) AS id");
  return Number(rows[0]!.id);
}

export interface RunWrite {
  id: number;
  workflow: string;
  input: unknown;
  actor: string;
  face: string;
  startedAt: string;
  status: RunStatus;
  /** The process running it (host and pid), and how long its lease lasts without renewal (store.workflowLease). */
  owner: string;
  leaseMs: number;
  /** Set when the run ended. */
  end?: { output: unknown; error: RunRecord['error']; step: string | null; durationMs: number };
}

const STEP_COLUMNS = `(run_id, seq, parent_seq, path, step_id, kind, status, input, output, decision, error, started_at, duration_ms)
     SELECT $1, s.seq, s.parent_seq, s.path, s.step_id, s.kind, s.status, s.input::jsonb, s.output::jsonb, s.decision::jsonb, s.error::jsonb, s.started_at, s.duration_ms
     FROM unnest($2::int[], $3::int[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::timestamptz[], $13::real[])
       AS s(seq, parent_seq, path, step_id, kind, status, input, output, decision, error, started_at, duration_ms)
     ON CONFLICT (run_id, seq) DO UPDATE SET status = EXCLUDED.status, input = EXCLUDED.input, output = EXCLUDED.output, decision = EXCLUDED.decision, error = EXCLUDED.error, duration_ms = EXCLUDED.duration_ms`;

/**
 * Writes a run and its changed step rows in one statement (one commit): the run's row is created
 * (`create`) or updated, the step rows inserted or updated.
 */
export async function saveRun(q: Queryable, run: RunWrite, create: boolean, steps: StepRecord[]): Promise<void> {
  const stepParams = [
    steps.map((s) => s.seq),
    steps.map((s) => s.parent),
    steps.map((s) => s.path),
    steps.map((s) => s.id),
    steps.map((s) => s.kind),
    steps.map((s) => s.status),
    steps.map((s) => json(s.input)),
    steps.map((s) => json(s.output)),
    steps.map((s) => json(s.decision ?? undefined)),
    steps.map((s) => json(s.error ?? undefined)),
    steps.map((s) => s.startedAt),
    steps.map((s) => s.durationMs),
  ];
  const end = run.end;
  // A run that goes on holds a lease (renewed by renewLease too); one that ended, none.
  const runParams = [run.status, json(end?.output ?? undefined), json(end?.error ?? undefined), end?.step ?? null, end ? end.durationMs : null, run.owner, end ? null : run.leaseMs / 1000];
  const lease = 'CASE WHEN $20::float8 IS NULL THEN NULL ELSE now() + make_interval(secs => $20::float8) END';
  const runSql = create
    ? `INSERT INTO twl_workflow_runs (id, workflow, input, actor, face, started_at, status, output, error, step, finished_at, duration_ms, owner, lease_until) OVERRIDING SYSTEM VALUE
       VALUES ($1, $21, $22::jsonb, $23, $24, $25::timestamptz, $14, $15::jsonb, $16::jsonb, $17, CASE WHEN $18::real IS NULL THEN NULL ELSE now() END, $18::real, $19, ${lease}) RETURNING id`
    : `UPDATE twl_workflow_runs SET status = $14, output = $15::jsonb, error = $16::jsonb, step = $17, finished_at = CASE WHEN $18::real IS NULL THEN NULL ELSE now() END, duration_ms = $18::real, owner = $19, lease_until = ${lease} WHERE id = $1 RETURNING id`;
  // The run first (the steps' foreign key), then the steps, in one statement.
  await q.query(`WITH run AS (${runSql}) INSERT INTO twl_workflow_steps ${STEP_COLUMNS.replace('SELECT $1,', 'SELECT (SELECT id FROM run),')}`, [
    run.id,
    ...stepParams,
    ...runParams,
    ...(create ? [run.workflow, json(run.input), run.actor, run.face, run.startedAt] : []),
  ]);
}

/** Renews a run's lease while it goes on (nothing when it is not written yet, or ended). */
export async function renewLease(q: Queryable, id: number, leaseMs: number): Promise<void> {
  await q.query("UPDATE twl_workflow_runs SET lease_until = now() + make_interval(secs => $2::float8) WHERE id = $1 AND status = 'running'", [id, leaseMs / 1000]);
}

/** A run whose process stopped renewing its lease, as the upkeep marked it failed. */
export interface LostRun {
  run: number;
  workflow: string;
  owner: string | null;
  step: string | null;
}

/**
 * Marks failed (TWL_WORKFLOW_LOST) the runs still `running` whose lease ran out, and their steps
 * still running: their process was killed, or its machine lost, and nothing else would end them.
 * One statement that checks the state and the lease again as it writes: a run whose owner renewed
 * it meanwhile, or that ended, is left alone. The run's status change goes on the change feed (its
 * trigger) like any other. An owner that was only frozen and comes back writes how its run really
 * ended over this. The store's upkeep calls it (store/retention.ts).
 */
export async function failLostRuns(q: Queryable): Promise<LostRun[]> {
  const { rows } = await q.query<{ id: unknown; workflow: string; owner: string | null; step: string | null }>(
    `WITH lost AS (
       UPDATE twl_workflow_runs r SET status = 'failed', finished_at = now(),
              duration_ms = extract(epoch FROM now() - r.started_at) * 1000,
              step = (SELECT s.path FROM twl_workflow_steps s WHERE s.run_id = r.id AND s.status = 'running' ORDER BY s.seq DESC LIMIT 1),
              error = jsonb_build_object('code', 'TWL_WORKFLOW_LOST', 'message',
                'Lost: its process (' || coalesce(r.owner, 'unknown') || ') stopped renewing the run''s lease, which ran out at ' ||
                to_char(r.lease_until AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') ||
                ': it was killed or its machine lost (store.workflowLease). What its steps did before is recorded; run the workflow again if it should still happen.')
        WHERE r.status = 'running' AND r.lease_until < now()
        RETURNING r.id, r.workflow, r.owner, r.step, r.error),
     steps AS (
       UPDATE twl_workflow_steps s SET status = 'failed', error = l.error, duration_ms = extract(epoch FROM now() - s.started_at) * 1000
         FROM lost l WHERE s.run_id = l.id AND s.status = 'running'
       RETURNING 1)
     SELECT id, workflow, owner, step FROM lost ORDER BY id`,
  );
  return rows.map((r) => ({ run: Number(r.id), workflow: r.workflow, owner: r.owner, step: r.step }));
}

export async function listRuns(q: Queryable, filter: { workflow?: string; status?: RunStatus[]; limit: number; before?: number }): Promise<RunRecord[]> {
  const { rows } = await q.query(
    `SELECT id, workflow, status, NULL::jsonb AS input, NULL::jsonb AS output, error, step, actor, face, started_at, finished_at, duration_ms FROM twl_workflow_runs
     WHERE ($1::text IS NULL OR workflow = $1) AND ($2::text[] IS NULL OR status = ANY($2::text[])) AND ($3::bigint IS NULL OR id < $3)
     ORDER BY id DESC LIMIT $4`,
    [filter.workflow ?? null, filter.status?.length ? filter.status : null, filter.before ?? null, filter.limit],
  );
  return rows.map(runOf);
}

export async function getRun(q: Queryable, id: number): Promise<{ run: RunRecord; steps: StepRecord[] } | undefined> {
  const { rows } = await q.query('SELECT * FROM twl_workflow_runs WHERE id = $1', [id]);
  if (!rows[0]) return undefined;
  const steps = await q.query('SELECT * FROM twl_workflow_steps WHERE run_id = $1 ORDER BY seq', [id]);
  return { run: runOf(rows[0]), steps: steps.rows.map(stepOf) };
}
