import type { Queryable } from '../store/types.js';
import { WINDOW_MINUTES, bucketsFrom, emptyGroup, type GroupMetrics, type Metrics } from './source.js';

type Row = Record<string, unknown>;

/**
 * Op calls of every twl process over the last WINDOW_MINUTES minutes, per tool group (the part
 * of the MCP name before the first underscore): calls per minute, p95 and error rate. One scan of
 * the window (indexed on at). Calls and errors are exact (each row carries the calls it stands
 * for); past 20 calls of a tool in a second, p95 is read from a uniform sample of them. Shared by the store source and the dash_get_activity tool (the
 * dashboard's remote mode), so both show the same figures.
 */
export async function readActivity(store: Queryable): Promise<Metrics> {
  // Per group and minute, per group, per minute and overall in one pass.
  const { rows } = await store.query<Row>(
    `WITH c AS (
       SELECT split_part(tool, '_', 1) AS grp, least(${WINDOW_MINUTES - 1}, greatest(0, floor(extract(epoch FROM now() - at) / 60)))::int AS ago, duration_ms, ok, weight
       FROM twl_op_calls WHERE at > now() - make_interval(mins => ${WINDOW_MINUTES}))
     SELECT grp, ago, GROUPING(grp) AS all_groups, GROUPING(ago) AS all_minutes, sum(weight)::int AS calls,
            (coalesce(sum(weight) FILTER (WHERE NOT ok), 0))::int AS errors, percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_ms) AS p95
     FROM c GROUP BY GROUPING SETS ((grp, ago), (grp), (ago), ())`,
  );
  const groups = new Map<string, GroupMetrics>();
  const all = emptyGroup('all');
  const minutes = new Map<string, Array<{ ago: number; calls: number }>>();
  for (const r of rows) {
    const name = Number(r.all_groups) ? 'all' : (r.grp as string);
    if (Number(r.all_minutes)) {
      const g = name === 'all' ? all : (groups.get(name) ?? emptyGroup(name));
      g.calls = Number(r.calls);
      g.errors = Number(r.errors);
      g.errorRate = g.calls ? g.errors / g.calls : 0;
      g.p95Ms = r.p95 === null || r.p95 === undefined ? null : Math.round(Number(r.p95) * 10) / 10;
      if (name !== 'all') groups.set(name, g);
    } else {
      minutes.set(name, [...(minutes.get(name) ?? []), { ago: Number(r.ago), calls: Number(r.calls) }]);
    }
  }
  all.perMinute = bucketsFrom(minutes.get('all') ?? []);
  for (const g of groups.values()) g.perMinute = bucketsFrom(minutes.get(g.group) ?? []);
  return { at: new Date().toISOString(), windowMinutes: WINDOW_MINUTES, all, groups: [...groups.values()].sort((a, b) => b.calls - a.calls || a.group.localeCompare(b.group)) };
}
