import { Args } from '@oclif/core';
import type { OutputOf } from '../ops/op.js';
import type { taskVerb } from '../ops/task/schemas.js';
import { OpCommand } from './base.js';
import type { Execution, Task } from '../studio/tasks.js';
import { TwlError } from '../runtime/errors.js';
import { table } from './render.js';

/** The task id argument: `42` or `#42`. */
export const taskArg = Args.string({ description: 'The task id.', required: true });

export function taskIdOf(raw: string): number {
  const id = Number(raw.replace(/^#/, ''));
  if (!Number.isSafeInteger(id) || id <= 0) throw new TwlError('TWL_INPUT_INVALID', `"${raw.slice(0, 40)}" is not a task id: expected a positive number such as 42.`, { actions: ['Run `twl task list` to see the tasks and their ids.'] });
  return id;
}

/** What a task runs: its tool, or `agent NAME`. */
const target = (t: Task): string => t.tool ?? (t.kind === 'agent' ? `agent ${String(t.input.agent)}` : t.kind);

const when = (t: Task): string => (t.trigger === 'cron' ? `cron ${t.cron} (${t.tz})` : t.trigger === 'at' ? `at ${t.runAt}` : 'now');

export const taskTable = (tasks: Task[]): string =>
  table(
    ['id', 'status', 'tool', 'when', 'queue', 'name', 'reason'],
    tasks.map((t) => [`#${t.id}`, t.status, target(t), when(t), t.queue, t.name ?? '', t.reason ?? '']),
  );

export function taskLine(t: Task): string {
  return `task #${t.id} ${t.status}: ${target(t)} ${when(t)}${t.reason ? ` (${t.reason})` : ''}`;
}

export function taskDetail(t: Task, executions: Execution[]): string {
  const lines = [
    `#${t.id}${t.name ? ` ${t.name}` : ''}: ${t.kind === 'tool' ? `tool ${t.tool}` : target(t)}`,
    `status ${t.status}${t.reason ? ` (${t.reason})` : ''}`,
    `${when(t)} · queue ${t.queue} · retries ${t.retries} · timeout ${t.timeoutMs} ms${t.needsApproval ? ` · needs approval${t.approvedBy ? ` (approved by ${t.approvedBy} at ${t.approvedAt})` : ''}` : ''}`,
    `input ${JSON.stringify(t.input)}`,
    `created ${t.createdAt} by ${t.createdBy}${t.createdByKey !== null ? ` (API key #${t.createdByKey}: its runs stop if it is revoked)` : ''}${t.grantExpiresAt !== null ? ` (OAuth access token: its grant ends ${t.grantExpiresAt}, and its runs after that are refused)` : ''}${t.namespaces ? ` · runs within namespaces ${t.namespaces.join(', ') || 'none'}` : ''} · updated ${t.updatedAt}`,
  ];
  if (executions.length) {
    lines.push(
      '',
      table(
        ['execution', 'attempt', 'status', 'worker', 'started', 'ended', 'error'],
        executions.map((e) => [e.id, e.attempt, e.status, e.worker, e.startedAt, e.endedAt ?? '', e.error ?? '']),
      ),
    );
  } else lines.push('', 'No executions yet.');
  return lines.join('\n');
}

/** The command of a verb that changes one task by id: `twl task VERB ID`, printing the task's new status. */
export abstract class TaskVerbCommand<O extends ReturnType<typeof taskVerb>> extends OpCommand<O> {
  static override examples = ['<%= config.bin %> <%= command.id %> 42', '<%= config.bin %> <%= command.id %> 42 --json'];
  static override args = { id: taskArg };

  protected async input() {
    const ctor = this.constructor as typeof TaskVerbCommand;
    // oclif spreads the command class into its parser options, which copies only a class's own
    // statics: the ones inherited from here are named.
    const { args } = await this.parse({ args: ctor.args, flags: ctor.flags, baseFlags: ctor.baseFlags, enableJsonFlag: ctor.enableJsonFlag, strict: ctor.strict });
    return { id: taskIdOf(String(args.id)) };
  }

  protected render(r: OutputOf<O>): void {
    this.log(taskLine(r.task));
  }
}
