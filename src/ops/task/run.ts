import { z } from 'zod';
import { runTaskNow } from '../../studio/service.js';
import { defineOp } from '../op.js';
import { changesTask, taskId, taskResult } from './schemas.js';

export default defineOp({
  id: 'task.run',
  mcpName: 'task_run',
  title: 'Run a task now',
  description: 'Queues one run of the task now: a finished task (completed, failed, dead-lettered) runs again, a scheduled one runs ahead of its time (a cron schedule stays as it is). Refused while it is queued or running, and before its approval.',
  input: z.object({ id: taskId }),
  output: taskResult,
  annotations: changesTask,
  policy: { minRole: 'operator', needsApproval: false, timeoutMs: 30_000 },
  async run(ctx, { id }) {
    return { task: await runTaskNow(ctx.runtime, id, ctx.actor) };
  },
});
