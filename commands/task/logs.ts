import { Flags } from '@oclif/core';
import { OpCommand } from '../../src/cli/base.js';
import { taskArg, taskIdOf } from '../../src/cli/tasks.js';
import { invoke } from '../../src/ops/invoke.js';
import type { OutputOf } from '../../src/ops/op.js';
import op from '../../src/ops/task/logs.js';

type Line = OutputOf<typeof op>['lines'][number];
const format = (l: Line): string => `${l.at.slice(11, 23)} [${l.executionId}] ${l.line}`;
/** Lines read per page of what was written before --follow started. */
const PAGE = 1000;

export default class TaskLogs extends OpCommand<typeof op> {
  static override op = op;
  static override summary = 'Print a task\'s output lines; --follow prints them as they are produced.';
  static override description = `${op.description}\n\nWith --follow it prints the lines written so far, then each new line as it is produced (from the studio's change feed: LISTEN on PostgreSQL, a poll every 250 ms on the embedded store), until the task has nothing more coming (completed, failed, cancelled, dead-lettered, paused or waiting for approval); a cron task is followed until Ctrl-C. Once it waits for more, it says so on stderr: every line written after that is printed.`;
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
    const [{ eventFollower }, { liveStatuses }] = await Promise.all([import('../../src/studio/events.js'), import('../../src/studio/tasks.js')]);
    const lines: Line[] = [];
    const printed = new Set<number>();
    const print = (line: Line) => {
      if (printed.has(line.id)) return;
      printed.add(line.id);
      lines.push(line);
      if (!this.jsonEnabled()) this.log(format(line));
    };
    // Live lines wait until what was written before is printed, so every line shows once, in order.
    let held: Line[] | undefined = [];
    let finished!: () => void;
    const done = new Promise<void>((resolve) => (finished = resolve));
    // Subscribed first: a line or status written after this is delivered, whatever the reads below see.
    const stop = await eventFollower(runtime).follow({ task: id }, (events) => {
      for (const e of events) {
        if (e.topic === 'execution' && e.kind === 'output') {
          const line = { id: Number(e.payload.line), executionId: Number(e.subject), at: e.at, line: String(e.payload.text) };
          if (held) held.push(line);
          else print(line);
        } else if (e.topic === 'task' && e.kind === 'status' && !liveStatuses.includes(e.payload.status as never)) finished();
      }
    });
    try {
      let after = 0;
      const readFrom = async () => {
        for (;;) {
          const page = await invoke(op, runtime, { id, after, limit: PAGE });
          for (const line of page.lines) print(line);
          after = page.lines.at(-1)?.id ?? after;
          if (page.lines.length < PAGE) return page;
        }
      };
      const first = await readFrom();
      const pending = held.sort((a, b) => a.id - b.id);
      held = undefined;
      for (const line of pending) print(line);
      if (!first.done) {
        // Said once it listens: what the task writes from now on is printed (a script can wait for this line before starting the task).
        process.stderr.write(`(following task #${id}, ${first.task.status}: its lines print as they are produced, until it ends; Ctrl-C stops)\n`);
        // The feed's timers do not keep a process alive: this does, while the task runs.
        const alive = setInterval(() => undefined, 60_000);
        await done.finally(() => clearInterval(alive));
      }
      // The final status is written after the last line: one more read catches any line the feed has not delivered yet.
      const last = await readFrom();
      return { ...last, lines: lines.sort((a, b) => a.id - b.id), done: true };
    } finally {
      stop();
    }
  }

  protected render(r: OutputOf<typeof op>): void {
    for (const line of r.lines) this.log(format(line));
    if (!r.lines.length) process.stderr.write(`(no output yet; task #${r.task.id} is ${r.task.status})\n`);
  }
}
