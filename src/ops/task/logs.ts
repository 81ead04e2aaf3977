import { z } from 'zod';
import { getTask, liveStatuses, outputOf } from '../../studio/tasks.js';
import { defineOp, readOnly } from '../op.js';
import { taskId, taskSchema } from './schemas.js';

export default defineOp({
  id: 'task.logs',
  mcpName: 'task_logs',
  title: 'Read a task\'s output lines',
  description: 'The output lines of a task\'s executions, as they were produced, after line `after` (0: from the start). Call again with the last id to follow a running task; `done` says the task has nothing more coming (not queued, scheduled or running). A key granted namespaces reads only the tasks whose namespaces lie within its own (any other is not found).',
  input: z.object({
    id: taskId,
    after: z.number().int().min(0).default(0).describe('Only lines after this line id.'),
    limit: z.number().int().min(1).max(10_000).default(1000),
  }),
  output: z.object({
    task: taskSchema,
    lines: z.array(z.object({ id: z.number().int(), executionId: z.number().int(), at: z.string(), line: z.string() })),
    done: z.boolean(),
  }),
  annotations: readOnly,
  policy: { minRole: 'viewer', needsApproval: false, timeoutMs: 15_000 },
  async run(ctx, { id, after, limit }) {
    const store = await ctx.store();
    // The status first: lines written before a final status are all there when it says done.
    const task = await getTask(store, id, ctx.namespaces);
    const lines = await outputOf(store, id, after, limit);
    const done = !liveStatuses.includes(task.status) && lines.length < limit;
    return { task, lines, done };
  },
});
