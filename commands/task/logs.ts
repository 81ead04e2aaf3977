import { Flags } from '@oclif/core';
import { setTimeout as sleep } from 'node:timers/promises';
import { OpCommand } from '../../src/cli/base.js';
import { taskArg, taskIdOf } from '../../src/cli/tasks.js';
import { invoke } from '../../src/ops/invoke.js';
import type { OutputOf } from '../../src/ops/op.js';
import op from '../../src/ops/task/logs.js';

/** How often --follow looks for new lines when none came. */
const FOLLOW_POLL_MS = 250;

type Line = OutputOf<typeof op>['lines'][number];
const format = (l: Line): string => `${l.at.slice(11, 23)} [${l.executionId}] ${l.line}`;

export default class TaskLogs extends OpCommand<typeof op> {
  static override op = op;
  static override summary = 'Print a task\'s output lines; --follow prints them as they are produced.';
  static override description = `${op.description}\n\nWith --follow it keeps printing new lines until the task has nothing more coming (completed, failed, cancelled, dead-lettered, paused or waiting for approval); a cron task is followed until Ctrl-C.`;
  static override examples = ['<%= config.bin %> <%= command.id %> 42', '<%= config.bin %> <%= command.id %> 42 --follow', '<%= config.bin %> <%= command.id %> 42 --json'];
  static override args = { id: taskArg };
  static override flags = { follow: Flags.boolean({ char: 'f', description: 'Keep printing lines as they are produced, until the task is done.' }) };

  protected async input() {
    const { args } = await this.parse(TaskLogs);
    return { id: taskIdOf(args.id) };
  }

  override async run(): Promise<OutputOf<typeof op>> {
    const { flags } = await this.parse(TaskLogs);
    if (!flags.follow) return super.run();
    const { id } = await this.input();
    const runtime = await this.runtime();
    const lines: Line[] = [];
    for (;;) {
      const page = await invoke(op, runtime, { id, after: lines.at(-1)?.id ?? 0 });
      for (const line of page.lines) {
        lines.push(line);
        if (!this.jsonEnabled()) this.log(format(line));
      }
      if (page.done) return { ...page, lines };
      if (!page.lines.length) await sleep(FOLLOW_POLL_MS);
    }
  }

  protected render(r: OutputOf<typeof op>): void {
    for (const line of r.lines) this.log(format(line));
    if (!r.lines.length) process.stderr.write(`(no output yet; task #${r.task.id} is ${r.task.status})\n`);
  }
}
