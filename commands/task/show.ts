import { OpCommand } from '../../src/cli/base.js';
import { taskArg, taskDetail, taskIdOf } from '../../src/cli/tasks.js';
import type { OutputOf } from '../../src/ops/op.js';
import op from '../../src/ops/task/show.js';

export default class TaskShow extends OpCommand<typeof op> {
  static override op = op;
  static override summary = 'Show a task and its executions (one per attempt).';
  static override description = op.description;
  static override examples = ['<%= config.bin %> <%= command.id %> 42', '<%= config.bin %> <%= command.id %> 42 --json'];
  static override args = { id: taskArg };

  protected async input() {
    const { args } = await this.parse(TaskShow);
    return { id: taskIdOf(args.id) };
  }

  protected render(r: OutputOf<typeof op>): void {
    this.log(taskDetail(r.task, r.executions));
  }
}
