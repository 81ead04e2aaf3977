import { OpCommand } from '../../src/cli/base.js';
import { taskArg, taskIdOf, taskLine } from '../../src/cli/tasks.js';
import type { OutputOf } from '../../src/ops/op.js';
import op from '../../src/ops/task/run.js';

export default class TaskRun extends OpCommand<typeof op> {
  static override op = op;
  static override summary = 'Run a task now, once more.';
  static override description = op.description;
  static override examples = ['<%= config.bin %> <%= command.id %> 42', '<%= config.bin %> <%= command.id %> 42 --json'];
  static override args = { id: taskArg };

  protected async input() {
    const { args } = await this.parse(TaskRun);
    return { id: taskIdOf(args.id) };
  }

  protected render(r: OutputOf<typeof op>): void {
    this.log(taskLine(r.task));
  }
}
