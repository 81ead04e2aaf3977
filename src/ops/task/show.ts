import { z } from 'zod';
import { executionsOf, getTask } from '../../studio/tasks.js';
import { defineOp, readOnly } from '../op.js';
import { executionSchema, taskId, taskSchema } from './schemas.js';

export default defineOp({
  id: 'task.show',
  mcpName: 'task_show',
  title: 'Show a task and its executions',
  description: 'One task, with every execution (one per attempt: start, end, status, error, output, tool calls). A key granted namespaces sees only the tasks whose namespaces lie within its own (any other is not found).',
  input: z.object({ id: taskId }),
  output: z.object({ task: taskSchema, executions: z.array(executionSchema) }),
  annotations: readOnly,
  policy: { minRole: 'viewer', needsApproval: false, timeoutMs: 15_000 },
  async run(ctx, { id }) {
    const store = await ctx.store();
    return { task: await getTask(store, id, ctx.namespaces), executions: await executionsOf(store, id) };
  },
});
