import { z } from 'zod';
import { categories, priorities, sentiments } from '../../agents/triage/taxonomy.js';
import { statuses } from '../../agents/tickets/repo.js';
import { durationHint, parseDuration } from '../../runtime/duration.js';
import { defineOp, readOnly } from '../op.js';

const counts = z.record(z.string(), z.number().int());

export default defineOp({
  id: 'maestro.analyze',
  mcpName: 'maestro_analyze',
  title: 'Ticket statistics',
  description: 'Volumes by category, priority, sentiment and status, time to resolve (mean, median, 90th percentile), escalations and tickets marked for a human, and the daily trend, over a period.',
  input: z.object({
    since: z
      .string()
      .default('30d')
      .refine((v) => parseDuration(v, 'd') !== undefined, `expected a period: a number of days or ${durationHint}`)
      .describe('How far back: 30d, 12h, 90 (days).'),
  }),
  output: z.object({
    from: z.string(),
    to: z.string(),
    total: z.number().int(),
    byCategory: counts,
    byPriority: counts,
    bySentiment: counts,
    byStatus: counts,
    escalated: z.number().int(),
    needsHuman: z.number().int(),
    timeToResolve: z.object({ resolved: z.number().int(), meanMs: z.number().nullable(), p50Ms: z.number().nullable(), p90Ms: z.number().nullable() }),
    perDay: z.array(z.object({ day: z.string(), created: z.number().int(), resolved: z.number().int() })),
  }),
  annotations: readOnly,
  policy: { minRole: 'viewer', needsApproval: false, timeoutMs: 60_000 },
  async run(ctx, { since }) {
    const store = await ctx.store();
    const to = new Date();
    const from = new Date(to.getTime() - parseDuration(since, 'd')!);
    const window = [from.toISOString(), to.toISOString()];
    const grouped = async (column: string, labels: readonly string[]) => {
      const { rows } = await store.query<{ label: string | null; n: string }>(`SELECT ${column} AS label, count(*) AS n FROM twl_tickets WHERE created_at >= $1 AND created_at <= $2 GROUP BY 1`, window);
      const out: Record<string, number> = Object.fromEntries(labels.map((l) => [l, 0]));
      for (const r of rows) out[r.label ?? 'unclassified'] = Number(r.n);
      return out;
    };
    const [byCategory, byPriority, bySentiment, byStatus] = await Promise.all([
      grouped('category', categories),
      grouped('priority', priorities),
      grouped('sentiment', sentiments),
      grouped('status', statuses),
    ]);
    const { rows: [summary] } = await store.query<Record<string, string | null>>(
      `SELECT count(*) AS total,
              count(*) FILTER (WHERE status = 'escalated') AS escalated,
              count(*) FILTER (WHERE needs_human) AS needs_human,
              count(resolved_at) AS resolved,
              avg(EXTRACT(EPOCH FROM resolved_at - created_at) * 1000) AS mean,
              percentile_cont(0.5) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM resolved_at - created_at) * 1000) AS p50,
              percentile_cont(0.9) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM resolved_at - created_at) * 1000) AS p90
         FROM twl_tickets WHERE created_at >= $1 AND created_at <= $2`,
      window,
    );
    const { rows: days } = await store.query<{ day: string; created: string; resolved: string }>(
      `SELECT to_char(d, 'YYYY-MM-DD') AS day,
              (SELECT count(*) FROM twl_tickets WHERE created_at >= d AND created_at < d + interval '1 day') AS created,
              (SELECT count(*) FROM twl_tickets WHERE resolved_at >= d AND resolved_at < d + interval '1 day') AS resolved
         FROM generate_series(date_trunc('day', $1::timestamptz), date_trunc('day', $2::timestamptz), interval '1 day') AS d ORDER BY d`,
      window,
    );
    const num = (v: string | null | undefined) => (v === null || v === undefined ? null : Math.round(Number(v)));
    return {
      from: window[0]!,
      to: window[1]!,
      total: Number(summary!.total),
      byCategory,
      byPriority,
      bySentiment,
      byStatus,
      escalated: Number(summary!.escalated),
      needsHuman: Number(summary!.needs_human),
      timeToResolve: { resolved: Number(summary!.resolved), meanMs: num(summary!.mean), p50Ms: num(summary!.p50), p90Ms: num(summary!.p90) },
      perDay: days.map((d) => ({ day: d.day, created: Number(d.created), resolved: Number(d.resolved) })),
    };
  },
});
