import { TaskVerbCommand } from '../../src/cli/tasks.js';
import op from '../../src/ops/task/resume.js';

export default class TaskResume extends TaskVerbCommand<typeof op> {
  static override op = op;
  static override summary = 'Resume a paused task, or submit a draft.';
  static override description = op.description;
}
