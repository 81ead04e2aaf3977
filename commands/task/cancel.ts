import { TaskVerbCommand } from '../../src/cli/tasks.js';
import op from '../../src/ops/task/cancel.js';

export default class TaskCancel extends TaskVerbCommand<typeof op> {
  static override op = op;
  static override summary = 'Cancel a task (a running one is stopped by its worker).';
  static override description = op.description;
}
