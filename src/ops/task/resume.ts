import { z } from 'zod';
import { resumeTask } from '../../studio/service.js';
import { defineOp } from '../op.js';
import { changesTask, taskId, taskResult } from './schemas.js';

export default defineOp({
  id: 'task.resume',
  mcpName: 'task_resume',
  title: 'Resume a paused task (or submit a draft)',
  description: 'Puts a paused task back in the queue as its trigger says (a run at a time already past runs now), or submits a draft.',
  input: z.object({ id: taskId }),
  output: taskResult,
  annotations: changesTask,
  policy: { minRole: 'operator', needsApproval: false, timeoutMs: 30_000 },
  async run(ctx, { id }) {
    return { task: await resumeTask(ctx.runtime, id) };
  },
});
