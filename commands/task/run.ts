import { TaskVerbCommand } from '../../src/cli/tasks.js';
import op from '../../src/ops/task/run.js';

export default class TaskRun extends TaskVerbCommand<typeof op> {
  static override op = op;
  static override summary = 'Run a task now, once more.';
  static override description = op.description;
}
