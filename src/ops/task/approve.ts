import { z } from 'zod';
import { approveTask } from '../../studio/service.js';
import { defineOp } from '../op.js';
import { changesTask, taskId, taskResult } from './schemas.js';

export default defineOp({
  id: 'task.approve',
  mcpName: 'task_approve',
  title: 'Approve a task waiting for approval',
  description: 'For a task waiting_approval (its tool needs approval, or is destructive): records who approved it and puts it in the queue as its trigger says. The approval covers every run of this task. Needs the manager role.',
  input: z.object({ id: taskId }),
  output: taskResult,
  annotations: changesTask,
  policy: { minRole: 'manager', needsApproval: false, timeoutMs: 30_000 },
  async run(ctx, { id }) {
    return { task: await approveTask(ctx.runtime, id, ctx.actor) };
  },
});
