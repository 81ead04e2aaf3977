import { z } from 'zod';
import { pauseTask } from '../../studio/service.js';
import { defineOp } from '../op.js';
import { changesTask, taskId, taskResult } from './schemas.js';

export default defineOp({
  id: 'task.pause',
  mcpName: 'task_pause',
  title: 'Pause a task',
  description: 'Takes a scheduled or queued task out of the queue (its cron schedule or its waiting run) until `task resume`. A running task cannot be paused: cancel it, or let it finish.',
  input: z.object({ id: taskId }),
  output: taskResult,
  annotations: changesTask,
  policy: { minRole: 'operator', needsApproval: false, timeoutMs: 30_000 },
  async run(ctx, { id }) {
    return { task: await pauseTask(ctx.runtime, id, ctx.actor) };
  },
});
