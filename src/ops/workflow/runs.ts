import { z } from 'zod';
import { listRuns } from '../../workflows/records.js';
import { runStatuses } from '../../workflows/types.js';
import { defineOp, readOnly } from '../op.js';
import { runSchema } from './schemas.js';

export default defineOp({
  id: 'workflow.runs',
  mcpName: 'workflow_runs',
  title: 'List workflow runs',
  description: 'Recorded workflow runs, newest first: status, the step a run ended at, who ran it and how long it took. `before` pages on.',
  input: z.object({
    workflow: z.string().min(1).max(60).optional().describe('Only this workflow\'s runs.'),
    status: z.array(z.enum(runStatuses)).optional(),
    limit: z.number().int().min(1).max(1000).default(50),
    before: z.number().int().positive().optional().describe('Only runs with an id below this (the next page).'),
  }),
  output: z.object({ runs: z.array(runSchema) }),
  annotations: readOnly,
  policy: { minRole: 'viewer', needsApproval: false, timeoutMs: 15_000 },
  async run(ctx, filter) {
    return { runs: await listRuns(await ctx.store(), filter) };
  },
});
