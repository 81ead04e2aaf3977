import type { Config } from '../runtime/config.js';
import { messageOf } from '../runtime/errors.js';
import type { Logger } from '../runtime/logger.js';
import { processName } from '../runtime/process-name.js';
import { redactText } from '../runtime/redact.js';
import { failLostRuns, type LostRun } from '../workflows/records.js';
import type { Queryable, Store } from './types.js';

/*
 * Rows twl keeps for a while, then deletes:
 * - the op calls behind the dashboard's metrics (store.activityRetention);
 * - the studio's change feed, twl_events (store.eventRetention);
 * - the run history (store.runRetention): task executions with their output lines, agent runs with
 *   their steps, workflow runs with their steps. Never what still runs or waits for its turn, nor a
 *   task's latest execution, nor a row another kept row refers to (an execution with an agent run, a
 *   run with a delegate): those go in a later pass, once what refers to them is gone. A workflow run
 *   left waiting_approval has ended (nothing resumes it): it goes like a failed one;
 * - opt-in, the audit trails, twl_audit and twl_tool_calls (store.auditRetention, off by default).
 * Oldest first, a bounded batch per statement, each batch its own short transaction (a parent's
 * rows that refer to it first, then the parent): a large backlog never holds its locks for long,
 * and other statements run between batches. The same SQL on PGlite and PostgreSQL.
 */

/** Rows deleted by one statement. */
export const PRUNE_BATCH = 1000;

type Setting = 'activityRetention' | 'eventRetention' | 'runRetention' | 'auditRetention';

/** Rows of another table that refer to a retained row, deleted before it (a batch at a time too). */
interface Child {
  table: string;
  /** The column referring to the parent's id. */
  fk: string;
  /** How a row is picked: its id, or its ctid (a table without a key). */
  key: 'id' | 'ctid';
}

interface Retained {
  table: string;
  setting: Setting;
  /**
   * The rows past their retention, in the order they go: a SELECT of their key (`k`), $1 the
   * retention in seconds, $2 the batch (LIMIT NULL: all of them, for counting). `{refs}` is where
   * the condition that nothing kept refers to a row goes (left out when counting).
   */
  expired: string;
  /** The condition that nothing refers to the row any longer (alias `t`). */
  refs?: string;
  key: 'id' | 'ctid';
  children?: Child[];
  /** An append-only audit trail: its trigger lets only this pass delete (migration 0021). */
  audit?: boolean;
}

const age = 'now() - make_interval(secs => $1::float8)';

const retained: Retained[] = [
  {
    table: 'twl_op_calls',
    setting: 'activityRetention',
    key: 'ctid',
    // Oldest first along its index on `at`; the table has no key, so rows are picked by ctid.
    expired: `SELECT ctid AS k FROM twl_op_calls WHERE at < ${age} ORDER BY at LIMIT $2`,
  },
  {
    table: 'twl_events',
    setting: 'eventRetention',
    key: 'id',
    // The oldest ids (the primary key: no scan of the table), those of them old enough. The newest
    // event always stays, whatever its age: followers take "now" from the newest id, and an empty
    // feed would make them start from 0.
    expired: `SELECT id AS k FROM (SELECT id, at FROM twl_events WHERE id < (SELECT max(id) FROM twl_events) ORDER BY id LIMIT $2) oldest WHERE at < ${age}`,
  },
  {
    table: 'twl_workflow_runs',
    setting: 'runRetention',
    key: 'id',
    // Only a running run stays. waiting_approval is an end, like failed: its process ended it and is
    // gone, and nothing resumes a run (approved, the workflow runs again as a new run; a task that
    // runs one is approved before it runs, so its runs never wait). Nothing refers to a run but its steps.
    expired: `SELECT id AS k FROM twl_workflow_runs t WHERE status <> 'running' AND coalesce(finished_at, started_at) < ${age} ORDER BY id LIMIT $2`,
    children: [{ table: 'twl_workflow_steps', fk: 'run_id', key: 'ctid' }],
  },
  {
    table: 'twl_agent_runs',
    setting: 'runRetention',
    key: 'id',
    // A run another one delegated to goes first (its id is larger); the one that delegated in a later batch.
    expired: `SELECT id AS k FROM twl_agent_runs t WHERE status IN ('completed', 'failed', 'lost') AND coalesce(ended_at, started_at) < ${age} {refs} ORDER BY id LIMIT $2`,
    refs: 'NOT EXISTS (SELECT 1 FROM twl_agent_runs d WHERE d.parent_run = t.id)',
    children: [{ table: 'twl_agent_steps', fk: 'run_id', key: 'id' }],
  },
  {
    table: 'twl_task_executions',
    setting: 'runRetention',
    key: 'id',
    // A task's latest execution stays (`twl task show` shows how it last ran), whatever its age.
    expired: `SELECT id AS k FROM twl_task_executions t WHERE status <> 'running' AND coalesce(ended_at, started_at) < ${age}
               AND EXISTS (SELECT 1 FROM twl_task_executions n WHERE n.task_id = t.task_id AND n.id > t.id) {refs} ORDER BY id LIMIT $2`,
    refs: 'NOT EXISTS (SELECT 1 FROM twl_agent_runs r WHERE r.execution_id = t.id)',
    children: [{ table: 'twl_task_output', fk: 'execution_id', key: 'id' }],
  },
  {
    table: 'twl_tool_calls',
    setting: 'auditRetention',
    key: 'id',
    audit: true,
    expired: `SELECT id AS k FROM twl_tool_calls WHERE at < ${age} ORDER BY at LIMIT $2`,
  },
  {
    table: 'twl_audit',
    setting: 'auditRetention',
    key: 'id',
    audit: true,
    // A command still running (started, not completed) keeps its row.
    expired: `SELECT id AS k FROM twl_audit WHERE at < ${age} AND outcome <> 'started' ORDER BY at LIMIT $2`,
  },
];

const expiredSql = (r: Retained, counting: boolean) => r.expired.replace('{refs}', r.refs && !counting ? `AND ${r.refs}` : '');

/** The tables retention deletes from, with the setting that decides how long their rows stay (children with their parent's). */
export const retainedTables: Array<{ table: string; setting: Setting }> = retained.flatMap((r) => [{ table: r.table, setting: r.setting }, ...(r.children ?? []).map((c) => ({ table: c.table, setting: r.setting }))]);

const selectKeys = (table: string, key: 'id' | 'ctid', where: string) =>
  key === 'ctid' ? `SELECT ctid FROM ${table} WHERE ${where} LIMIT $2` : `SELECT id FROM ${table} WHERE ${where} LIMIT $2`;

/** Deletes the rows whose key the subquery gives; answers how many, and (twl_events) records the newest id deleted. */
const deleteSql = (table: string, key: 'id' | 'ctid', keys: string) => {
  const match = key === 'ctid' ? `ctid = ANY(ARRAY(${keys}))` : `id IN (${keys})`;
  if (table !== 'twl_events') return `WITH gone AS (DELETE FROM ${table} WHERE ${match} RETURNING 1) SELECT count(*)::int AS n FROM gone`;
  return `WITH gone AS (DELETE FROM twl_events WHERE ${match} RETURNING id),
    mark AS (INSERT INTO twl_upkeep (job, events_through) SELECT 'retention', max(id) FROM gone HAVING count(*) > 0
             ON CONFLICT (job) DO UPDATE SET events_through = greatest(twl_upkeep.events_through, excluded.events_through))
    SELECT count(*)::int AS n FROM gone`;
};

export interface PruneOptions {
  /** Batches per table at most (the rest waits for the next pass). Default: until none is left. */
  maxBatches?: number;
  /** Rows per statement. */
  batch?: number;
  /** Stops between two batches. */
  signal?: AbortSignal;
  /** Called after each batch (a long pass renews its claim). */
  onBatch?: () => Promise<void>;
}

export interface PruneResult {
  /** Rows deleted per table (each retained table, and the tables of rows that referred to them). */
  deleted: Record<string, number>;
  /** False when a table had more to delete than maxBatches allowed (or the signal stopped it). */
  complete: boolean;
  /** Workflow runs whose process stopped renewing their lease, marked failed by this pass (pruneClaimed). */
  lost?: LostRun[];
}

type Pruner = Pick<Store, 'query' | 'exec' | 'transaction'>;

const count = async (q: Queryable, sql: string, params: unknown[]) => Number((await q.query<{ n: unknown }>(sql, params)).rows[0]?.n ?? 0);

/** Deletes what each retained table keeps no longer. */
export async function prune(store: Pruner, settings: Config['store'], options: PruneOptions = {}): Promise<PruneResult> {
  const batch = options.batch ?? PRUNE_BATCH;
  const deleted = Object.fromEntries(retainedTables.map((t) => [t.table, 0]));
  let complete = true;
  for (const r of retained) {
    const keepMs = settings[r.setting];
    if (!keepMs) continue;
    const params = [keepMs / 1000, batch];
    const expired = expiredSql(r, false);
    for (let n = 0; ; n++) {
      if (n >= (options.maxBatches ?? Infinity) || options.signal?.aborted) {
        complete = false;
        break;
      }
      // One transaction: the rows referring to a batch of expired rows, then (when none is left) the batch itself.
      const got = await store.transaction(async (tx) => {
        if (r.audit) await tx.query("SELECT set_config('twl.retention', 'audit', true)");
        let more = false;
        let rows = 0;
        for (const c of r.children ?? []) {
          const n = await count(tx, deleteSql(c.table, c.key, selectKeys(c.table, c.key, `${c.fk} IN (${expired})`)), params);
          deleted[c.table]! += n;
          rows += n;
          // A full batch: more of them may be left; the parents wait for the next batch.
          if (n === batch) more = true;
        }
        if (!more) {
          const n = await count(tx, deleteSql(r.table, r.key, expired), params);
          deleted[r.table]! += n;
          rows += n;
        }
        return rows;
      });
      // Nothing deleted: what is left is recent enough, or still referred to.
      if (!got) break;
      await options.onBatch?.();
    }
  }
  return { deleted, complete };
}

/** Deletes what each retained table keeps no longer; resolves with the rows deleted per table. */
export async function pruneExpired(store: Pruner, settings: Config['store'], options: PruneOptions = {}): Promise<Record<string, number>> {
  return (await prune(store, settings, options)).deleted;
}

/** The rows each retained table holds past its retention now (what a prune would delete, at most): nothing is deleted. */
export async function countExpired(q: Queryable, settings: Config['store']): Promise<Record<string, number>> {
  const counts = Object.fromEntries(retainedTables.map((t) => [t.table, 0]));
  for (const r of retained) {
    const keepMs = settings[r.setting];
    if (!keepMs) continue;
    const params = [keepMs / 1000, null];
    const expired = expiredSql(r, true);
    counts[r.table] = await count(q, `SELECT count(*)::int AS n FROM (${expired}) x`, params);
    for (const c of r.children ?? []) counts[c.table] = await count(q, `SELECT count(*)::int AS n FROM ${c.table} WHERE ${c.fk} IN (${expired})`, params);
  }
  return counts;
}

/*
 * Who prunes: every long-running process (worker, serve, the store host) once a minute, and now and
 * then any command that records its op calls. They take turns through the twl_upkeep row: a process
 * claims it for its pass, and sets when the next one is due when done (migration 0021).
 */

/** How often a pass is due, and how often long-running processes look. */
export const UPKEEP_MS = 60_000;
/** A claim lasts this long without renewal: a holder that died frees it then. */
const CLAIM_MS = 5 * 60_000;
/** Batches per table in one automatic pass: a large backlog is deleted over several passes, the store free between them. */
export const PASS_BATCHES = 10;

/** A claim's holder: host, pid and role of this process, and a tag of its own (two holders in one process take turns too). */
export const holderName = (role: string) => `${processName()} (${role}) #${Math.random().toString(36).slice(2, 8)}`;

/**
 * Claims the pass: when none is held (or its holder's claim ran out) and one is due (or `force`).
 * Resolves with true when this holder has it; else with the current holder (undefined when none
 * holds it and no pass is due).
 */
export async function claimPass(q: Queryable, holder: string, force = false): Promise<true | { holder?: string; heldUntil?: string }> {
  const { rows } = await q.query(
    `INSERT INTO twl_upkeep (job, holder, held_until) VALUES ('retention', $1, now() + make_interval(secs => $2::float8))
     ON CONFLICT (job) DO UPDATE SET holder = excluded.holder, held_until = excluded.held_until
      WHERE (twl_upkeep.holder IS NULL OR twl_upkeep.held_until <= now()) AND ($3 OR twl_upkeep.due_at <= now())
     RETURNING job`,
    [holder, CLAIM_MS / 1000, force],
  );
  if (rows.length) return true;
  const { rows: held } = await q.query<{ holder: string | null; held_until: unknown }>("SELECT holder, held_until FROM twl_upkeep WHERE job = 'retention' AND held_until > now()");
  return held[0]?.holder ? { holder: held[0].holder, heldUntil: new Date(held[0].held_until as string).toISOString() } : {};
}

/** Ends this holder's pass: the next one is due after `dueMs` (0: at once, a backlog is left). */
export async function releasePass(q: Queryable, holder: string, deleted: Record<string, number> | undefined, dueMs: number): Promise<void> {
  await q.query(
    `UPDATE twl_upkeep SET holder = NULL, held_until = NULL, due_at = now() + make_interval(secs => $2::float8), done_at = CASE WHEN $3::jsonb IS NULL THEN done_at ELSE now() END, deleted = coalesce($3::jsonb, deleted)
      WHERE job = 'retention' AND holder = $1`,
    [holder, dueMs / 1000, deleted ? JSON.stringify(deleted) : null],
  );
}

/** Keeps this holder's claim for another CLAIM_MS; false when it lost it (it ran out, and another process took it). */
async function renewPass(q: Queryable, holder: string): Promise<boolean> {
  const { rows } = await q.query("UPDATE twl_upkeep SET held_until = now() + make_interval(secs => $2::float8) WHERE job = 'retention' AND holder = $1 RETURNING job", [holder, CLAIM_MS / 1000]);
  return rows.length > 0;
}

/**
 * One pass under the claim: claims it (when due, or `force`), prunes, and releases it with the
 * next pass due in UPKEEP_MS (at once when a backlog is left). Resolves with what it deleted, or
 * with undefined when another process holds the pass or none is due.
 */
export async function prunePass(store: Pruner, settings: Config['store'], options: PruneOptions & { holder: string; force?: boolean }): Promise<PruneResult | undefined> {
  if ((await claimPass(store, options.holder, options.force)) !== true) return undefined;
  return pruneClaimed(store, settings, options);
}

/**
 * Under a claim this holder took (claimPass): first marks failed the workflow runs whose process
 * died (their lease ran out: failLostRuns, whatever the retentions), then prunes, renewing the
 * claim as it goes, and releases it.
 */
export async function pruneClaimed(store: Pruner, settings: Config['store'], options: PruneOptions & { holder: string }): Promise<PruneResult> {
  let renewed = Date.now();
  const lost = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, lost.signal]) : lost.signal;
  let result: PruneResult | undefined;
  try {
    const lostRuns = await failLostRuns(store);
    result = await prune(store, settings, {
      ...options,
      signal,
      onBatch: async () => {
        if (Date.now() - renewed < CLAIM_MS / 5) return;
        renewed = Date.now();
        if (!(await renewPass(store, options.holder))) lost.abort();
      },
    });
    if (lostRuns.length) result.lost = lostRuns;
    return result;
  } finally {
    await releasePass(store, options.holder, result?.deleted, result && !result.complete ? 0 : UPKEEP_MS);
  }
}

/** Says which workflow runs a pass found lost (a warning each: a process died in the middle of one). */
export function logLost(logger: Logger, lost: LostRun[] | undefined): void {
  for (const l of lost ?? []) logger.warn(l, `workflow run #${l.run} (${l.workflow}) marked failed: its process (${l.owner ?? 'unknown'}) stopped renewing its lease${l.step ? ` while step ${l.step} was running` : ''}`);
}

/**
 * The upkeep of a long-running process that has no other (twl serve, the store host): a look
 * soon after it starts, then every UPKEEP_MS, each a pass when one is due and no other process
 * holds it. Resolves the returned stop once the pass in progress, if any, stopped after its batch.
 */
export function keepPruning(store: Pruner, settings: Config['store'], logger: Logger, role: string): () => Promise<void> {
  const holder = holderName(role);
  const stopping = new AbortController();
  let running: Promise<void> | undefined;
  let failing = false;
  const look = () => {
    running ??= prunePass(store, settings, { holder, maxBatches: PASS_BATCHES, signal: stopping.signal })
      .then((result) => {
        failing = false;
        logLost(logger, result?.lost);
        if (result && Object.values(result.deleted).some(Boolean)) logger.info({ deleted: result.deleted }, 'deleted rows past their retention');
      })
      .catch((err: unknown) => {
        // A store that went away is said once, by whoever watches it; the next look tries again.
        if (!failing) logger.warn({ err: redactText(messageOf(err)) }, "the store's retention pass failed; trying again later");
        failing = true;
      })
      .finally(() => (running = undefined));
  };
  const first = setTimeout(look, 1000);
  const every = setInterval(look, UPKEEP_MS);
  first.unref();
  every.unref();
  return async () => {
    clearTimeout(first);
    clearInterval(every);
    stopping.abort();
    await running;
  };
}
