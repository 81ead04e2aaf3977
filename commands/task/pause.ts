import { TaskVerbCommand } from '../../src/cli/tasks.js';
import op from '../../src/ops/task/pause.js';

export default class TaskPause extends TaskVerbCommand<typeof op> {
  static override op = op;
  static override summary = 'Pause a scheduled or queued task until `task resume`.';
  static override description = op.description;
}
