import { Flags } from '@oclif/core';
import { OpCommand } from '../../src/cli/base.js';
import { taskTable } from '../../src/cli/tasks.js';
import type { OutputOf } from '../../src/ops/op.js';
import op from '../../src/ops/task/list.js';
import { taskStatuses } from '../../src/studio/tasks.js';

export default class TaskList extends OpCommand<typeof op> {
  static override op = op;
  static override summary = 'List tasks, newest first.';
  static override description = op.description;
  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --status scheduled --status running', '<%= config.bin %> <%= command.id %> --limit 20 --before 120 --json'];
  static override flags = {
    status: Flags.string({ description: 'Only these statuses (repeat).', options: [...taskStatuses], multiple: true }),
    limit: Flags.integer({ description: 'At most this many.', default: 50, min: 1, max: 1000 }),
    before: Flags.integer({ description: 'Only tasks with an id below this (the next page).', min: 1 }),
  };

  protected async input() {
    const { flags } = await this.parse(TaskList);
    return { status: flags.status, limit: flags.limit, before: flags.before };
  }

  protected render(r: OutputOf<typeof op>): void {
    if (!r.tasks.length) return this.log('No tasks match.');
    this.log(taskTable(r.tasks));
  }
}
