import { z } from 'zod';
import { cancelTask } from '../../studio/service.js';
import { defineOp } from '../op.js';
import { changesTask, taskId, taskResult } from './schemas.js';

export default defineOp({
  id: 'task.cancel',
  mcpName: 'task_cancel',
  title: 'Cancel a task',
  description: 'Cancels a task: its schedule and its waiting run leave the queue, and a running task is stopped by its worker (within a second). Final: a cancelled task does not run again.',
  input: z.object({ id: taskId }),
  output: taskResult,
  annotations: { ...changesTask, destructiveHint: true },
  policy: { minRole: 'operator', needsApproval: false, timeoutMs: 30_000 },
  async run(ctx, { id }) {
    return { task: await cancelTask(ctx.runtime, id, ctx.actor) };
  },
});
