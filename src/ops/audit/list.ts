import { z } from 'zod';
import { defineOp, readOnly } from '../op.js';

const entry = z.object({
  id: z.number().int(),
  at: z.string(),
  actor: z.string(),
  program: z.string(),
  resolved: z.string().nullable().describe('The file that ran (or would have), absolute.'),
  args: z.array(z.string()),
  cwd: z.string().nullable(),
  decision: z.enum(['allow', 'ask', 'deny']),
  approved: z.boolean().nullable(),
  rule: z.string(),
  outcome: z.string(),
  exitCode: z.number().int().nullable(),
  durationMs: z.number().nullable(),
  outputSha256: z.string().nullable(),
  ticketId: z.number().int().nullable(),
});

export default defineOp({
  id: 'audit.list',
  mcpName: 'audit_list_entries',
  title: 'List the audit log',
  description: 'Every command decision, newest first: who, what (and the file that ran), which policy rule, the outcome, exit code, duration and output digest. A row is written before a command starts (outcome started) and completed when it ends.',
  input: z.object({
    limit: z.number().int().min(1).max(10_000).default(50),
    outcome: z.enum(['started', 'ran', 'refused', 'dry-run', 'failed', 'timeout', 'cancelled']).optional(),
    ticket_id: z.number().int().positive().optional(),
  }),
  output: z.object({ entries: z.array(entry) }),
  annotations: readOnly,
  policy: { minRole: 'viewer', needsApproval: false, timeoutMs: 15_000 },
  async run(ctx, { limit, outcome, ticket_id }) {
    const store = await ctx.store();
    const { rows } = await store.query<Record<string, unknown>>(
      `SELECT * FROM twl_audit WHERE ($1::text IS NULL OR outcome = $1) AND ($2::bigint IS NULL OR ticket_id = $2) ORDER BY id DESC LIMIT ${limit}`,
      [outcome ?? null, ticket_id ?? null],
    );
    return {
      entries: rows.map((r) => ({
        id: Number(r.id),
        at: new Date(r.at as string).toISOString(),
        actor: r.actor as string,
        program: r.program as string,
        resolved: (r.resolved as string) ?? null,
        args: r.args as string[],
        cwd: (r.cwd as string) ?? null,
        decision: r.decision as 'allow' | 'ask' | 'deny',
        approved: (r.approved as boolean) ?? null,
        rule: r.rule as string,
        outcome: r.outcome as string,
        exitCode: r.exit_code === null ? null : Number(r.exit_code),
        durationMs: r.duration_ms === null ? null : Number(r.duration_ms),
        outputSha256: (r.output_sha256 as string) ?? null,
        ticketId: r.ticket_id === null ? null : Number(r.ticket_id),
      })),
    };
  },
});
