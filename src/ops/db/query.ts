import { z } from 'zod';
import { runReadOnlyQuery } from '../../agents/database/inspect.js';
import { defineOp } from '../op.js';
import { backendOutput, targetInput } from './schemas.js';

export default defineOp({
  id: 'db.query',
  mcpName: 'database_execute_query',
  title: 'Run a read-only SQL query',
  description:
    'Runs one read-only statement (SELECT, VALUES, EXPLAIN of a SELECT, SHOW) in a read-only transaction, always rolled back, with a statement timeout, a row limit and a byte cap (database.queryMaxBytes). ' +
    'Writes and several statements are refused before anything reaches the server; every function the statement can call is resolved in the catalog and must be known safe (docs/sql-guard.md). Bind parameters as $1, $2, ….',
  input: z.object({
    sql: z.string().min(1, 'expected a SQL statement').max(100_000).describe('One read-only SQL statement.'),
    params: z.array(z.union([z.string(), z.number(), z.boolean(), z.null()])).max(100).default([]).describe('Values for $1, $2, … in order.'),
    limit: z.number().int().min(1).max(100_000).default(1000).describe('Return at most this many rows (truncated says when more exist).'),
    timeout_ms: z.number().int().min(1).max(600_000).default(5000).describe('Statement timeout in milliseconds.'),
    target: targetInput,
  }),
  output: z.object({
    target: z.string(),
    backend: backendOutput,
    kind: z.enum(['SELECT', 'VALUES', 'EXPLAIN', 'SHOW']),
    columns: z.array(z.object({ name: z.string(), type: z.string() })),
    rows: z.array(z.record(z.string(), z.unknown())),
    rowCount: z.number().int(),
    truncated: z.boolean().describe('More rows exist than the limit, or the rows did not fit in the byte cap.'),
    truncatedBy: z.enum(['rows', 'bytes']).nullable().describe('What cut the result short: the row limit, the byte cap (database.queryMaxBytes), or nothing (null).'),
    limit: z.number().int(),
    durationMs: z.number(),
  }),
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  policy: { minRole: 'operator', needsApproval: false, timeoutMs: 660_000 },
  async run(ctx, { sql, params, limit, timeout_ms, target }) {
    const { guardSql } = await import('../../agents/database/sql-guard.js');
    // Refuse before connecting: a write never needs a connection to be refused.
    const verdict = await guardSql(sql);
    const { name, store } = await ctx.target(target);
    const { readOnlyRole, queryMaxBytes } = ctx.config.database;
    const outcome = await runReadOnlyQuery(store, verdict, params, { limit, maxBytes: queryMaxBytes, timeoutMs: timeout_ms, role: readOnlyRole, signal: ctx.signal });
    if (outcome.truncatedBy === 'rows') ctx.warn(`Showing the first ${limit} rows; more exist (raise --limit, or narrow the query).`);
    if (outcome.truncatedBy === 'bytes')
      ctx.warn(`Showing the first ${outcome.rowCount} rows: the next row would pass the ${queryMaxBytes}-byte cap (database.queryMaxBytes). Select fewer or shorter columns (left(col, 1000)), or raise the cap.`);
    return { target: name, backend: store.backend, limit, ...outcome };
  },
});
