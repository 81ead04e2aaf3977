import { z } from 'zod';
import { TwlError } from '../../runtime/errors.js';
import { getRun } from '../../workflows/records.js';
import { defineOp, readOnly } from '../op.js';
import { runSchema, stepRecordSchema } from './schemas.js';

export default defineOp({
  id: 'workflow.show',
  mcpName: 'workflow_show',
  title: 'Show a workflow run',
  description: 'One run and every step of it, nested steps included: input, output, decision (a gate\'s result, a parallel step\'s branches), status, error and duration.',
  input: z.object({ run: z.number().int().positive() }),
  output: z.object({ run: runSchema, steps: z.array(stepRecordSchema) }),
  annotations: readOnly,
  policy: { minRole: 'viewer', needsApproval: false, timeoutMs: 15_000 },
  async run(ctx, { run }) {
    const found = await getRun(await ctx.store(), run);
    if (!found) throw new TwlError('TWL_WORKFLOW_RUN_NOT_FOUND', `No workflow run ${run}.`);
    return found;
  },
});
