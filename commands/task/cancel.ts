import { OpCommand } from '../../src/cli/base.js';
import { taskArg, taskIdOf, taskLine } from '../../src/cli/tasks.js';
import type { OutputOf } from '../../src/ops/op.js';
import op from '../../src/ops/task/cancel.js';

export default class TaskCancel extends OpCommand<typeof op> {
  static override op = op;
  static override summary = 'Cancel a task (a running one is stopped by its worker).';
  static override description = op.description;
  static override examples = ['<%= config.bin %> <%= command.id %> 42', '<%= config.bin %> <%= command.id %> 42 --json'];
  static override args = { id: taskArg };

  protected async input() {
    const { args } = await this.parse(TaskCancel);
    return { id: taskIdOf(args.id) };
  }

  protected render(r: OutputOf<typeof op>): void {
    this.log(taskLine(r.task));
  }
}
