import { OpCommand } from '../../src/cli/base.js';
import { taskArg, taskIdOf, taskLine } from '../../src/cli/tasks.js';
import type { OutputOf } from '../../src/ops/op.js';
import op from '../../src/ops/task/pause.js';

export default class TaskPause extends OpCommand<typeof op> {
  static override op = op;
  static override summary = 'Pause a scheduled or queued task until `task resume`.';
  static override description = op.description;
  static override examples = ['<%= config.bin %> <%= command.id %> 42', '<%= config.bin %> <%= command.id %> 42 --json'];
  static override args = { id: taskArg };

  protected async input() {
    const { args } = await this.parse(TaskPause);
    return { id: taskIdOf(args.id) };
  }

  protected render(r: OutputOf<typeof op>): void {
    this.log(taskLine(r.task));
  }
}
