import type { Config } from '../runtime/config.js';
import type { Queryable } from './types.js';

/*
 * Rows twl keeps for a while, then deletes: the op calls behind the dashboard's metrics
 * (store.activityRetention) and the studio's change feed, twl_events (store.eventRetention).
 * Deleted oldest first, a bounded batch per statement: each batch is its own short transaction,
 * so a large backlog never holds its locks for long, and other statements run between batches.
 */

/** Rows deleted by one statement. */
export const PRUNE_BATCH = 1000;

interface Retained {
  table: string;
  /** Its retention in the store's settings (ms; 0: kept forever). */
  keep: (store: Config['store']) => number;
  /** Deletes up to $2 rows older than $1 seconds, oldest first. */
  sql: string;
}

const age = 'now() - make_interval(secs => $1::float8)';

const retained: Retained[] = [
  {
    table: 'twl_op_calls',
    keep: (s) => s.activityRetention,
    // Oldest first along its index on `at`; the table has no key, so rows are picked by ctid.
    sql: `DELETE FROM twl_op_calls WHERE ctid = ANY(ARRAY(SELECT ctid FROM twl_op_calls WHERE at < ${age} ORDER BY at LIMIT $2))`,
  },
  {
    table: 'twl_events',
    keep: (s) => s.eventRetention,
    // The oldest ids (the primary key: no scan of the table), those of them old enough. The newest
    // event always stays, whatever its age: followers take "now" from the newest id, and an empty
    // feed would make them start from 0.
    sql: `DELETE FROM twl_events WHERE id IN (
            SELECT id FROM (SELECT id, at FROM twl_events WHERE id < (SELECT max(id) FROM twl_events) ORDER BY id LIMIT $2) oldest
             WHERE at < ${age})`,
  },
];

export interface PruneOptions {
  /** Statements per table at most (the rest waits for the next pass). Default: until none is left. */
  maxBatches?: number;
  /** Rows per statement. */
  batch?: number;
  /** Stops between two batches. */
  signal?: AbortSignal;
}

/** Deletes what each retained table keeps no longer; resolves with the rows deleted per table. */
export async function pruneExpired(q: Queryable, settings: Config['store'], options: PruneOptions = {}): Promise<Record<string, number>> {
  const batch = options.batch ?? PRUNE_BATCH;
  const deleted: Record<string, number> = {};
  for (const { table, keep, sql } of retained) {
    const keepMs = keep(settings);
    deleted[table] = 0;
    if (!keepMs) continue;
    for (let n = 0; n < (options.maxBatches ?? Infinity) && !options.signal?.aborted; n++) {
      const { rowCount } = await q.query(sql, [keepMs / 1000, batch]);
      deleted[table] += rowCount;
      // Fewer than a batch: the oldest rows left are recent enough.
      if (rowCount < batch) break;
    }
  }
  return deleted;
}
