import { z } from 'zod';
import { listTasks, taskStatuses } from '../../studio/tasks.js';
import { defineOp, readOnly } from '../op.js';
import { taskSchema } from './schemas.js';

export default defineOp({
  id: 'task.list',
  mcpName: 'task_list',
  title: 'List tasks',
  description: 'Tasks, newest first, optionally only some statuses; `before` pages on (the smallest id of the previous page). A key granted namespaces lists only the tasks whose namespaces lie within its own.',
  input: z.object({
    status: z.array(z.enum(taskStatuses)).optional(),
    limit: z.number().int().min(1).max(1000).default(50),
    before: z.number().int().positive().optional().describe('Only tasks with an id below this (the next page).'),
  }),
  output: z.object({ tasks: z.array(taskSchema) }),
  annotations: readOnly,
  policy: { minRole: 'viewer', needsApproval: false, timeoutMs: 15_000 },
  async run(ctx, filter) {
    return { tasks: await listTasks(await ctx.store(), { ...filter, ...(ctx.namespaces ? { namespaces: ctx.namespaces } : {}) }) };
  },
});
