import { TaskVerbCommand } from '../../src/cli/tasks.js';
import op from '../../src/ops/task/approve.js';

export default class TaskApprove extends TaskVerbCommand<typeof op> {
  static override op = op;
  static override summary = 'Approve a task waiting for approval, and queue it.';
  static override description = op.description;
}
