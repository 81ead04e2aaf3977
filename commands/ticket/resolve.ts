import { confirm } from '@inquirer/prompts';
import { ListrInquirerPromptAdapter } from '@listr2/prompt-adapter-inquirer';
import { Flags } from '@oclif/core';
import { Listr, type ListrTaskWrapper } from 'listr2';
import { OpCommand } from '../../src/cli/base.js';
import { statusMark } from '../../src/cli/render.js';
import { ticketArg, ticketIdOf, timelineTable } from '../../src/cli/tickets.js';
import type { OutputOf } from '../../src/ops/op.js';
import op from '../../src/ops/ticket/resolve.js';
import type { Progress } from '../../src/runtime/context.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Task = ListrTaskWrapper<any, any, any>;

/** Fails the progress line of a ticket that was not resolved (listr2 marks a failed task ✖). */
class NotResolved extends Error {}

export default class TicketResolve extends OpCommand<typeof op> {
  static override op = op;
  static override summary = 'Triage, plan, check, fix, and resolve or escalate a ticket.';
  static override description = `${op.description}\n\nExit code 0 when resolved; 1 escalated; 4 waiting for approval; 130 interrupted (Ctrl-C leaves the ticket triaged, and the timeline says where it stopped).`;
  static override examples = [
    '<%= config.bin %> <%= command.id %> 42',
    '<%= config.bin %> <%= command.id %> last --yes --json',
  ];
  static override args = { id: ticketArg };
  static override flags = { force: Flags.boolean({ description: 'Take over a ticket left in_progress by a resolver that was killed.' }) };

  private task?: Task;

  protected async input() {
    const { args, flags } = await this.parse(TicketResolve);
    return { ticket_id: await ticketIdOf(args.id, () => this.runtime()), force: flags.force };
  }

  override async run(): Promise<OutputOf<typeof op>> {
    let result!: OutputOf<typeof op>;
    if (this.jsonEnabled()) result = await this.execute();
    else {
      let failure: unknown;
      // listr2 draws the progress on stderr (a plain line per step when it is not a terminal).
      await new Listr(
        [
          {
            title: 'Resolving',
            task: async (_ctx, task) => {
              this.task = task;
              try {
                result = await this.execute();
              } catch (err) {
                failure = err;
                throw err;
              }
              // The line's glyph is the outcome's: ✔ only for a resolved ticket.
              task.title = `Ticket #${result.ticket.id}: ${result.outcome}`;
              if (result.outcome === 'escalated') throw new NotResolved('needs a human');
              if (result.outcome !== 'resolved') task.skip(result.outcome === 'waiting_approval' ? 'needs approval' : 'stopped');
            },
            rendererOptions: { persistentOutput: true, bottomBar: Infinity },
          },
        ],
        // exitOnError off: the plain renderer (not a terminal) prints a failed line only then.
        { rendererOptions: { collapseErrors: false, showErrorMessage: false, showSkipMessage: false, suffixSkips: false }, fallbackRendererOptions: {}, exitOnError: false, registerSignalListeners: false },
      ).run();
      if (failure) throw failure;
      this.task = undefined;
      this.render(result);
    }
    const exit = { resolved: 0, escalated: 1, waiting_approval: 4, interrupted: 130 }[result.outcome];
    if (exit) process.exitCode = exit;
    return result;
  }

  protected override onProgress(update: Progress): void {
    if (!this.task) return super.onProgress(update);
    const mark = statusMark[update.status ?? 'running'];
    if (update.status === 'running') this.task.title = `Resolving: step ${(update.done ?? 0) + 1}/${update.total} ${update.message}`;
    else this.task.output = `${mark} ${update.message}`;
  }

  protected override async ask(question: string): Promise<boolean | undefined> {
    const answer = await super.ask(question);
    if (answer !== undefined || !this.task || !process.stdin.isTTY) return answer;
    return (await this.task.prompt(ListrInquirerPromptAdapter).run(confirm, { message: question, default: false })) as unknown as boolean;
  }

  protected render(r: OutputOf<typeof op>): void {
    this.log(`#${r.ticket.id} ${r.outcome}: ${r.summary}`);
    if (r.timeToResolveMs !== null) this.log(`time to resolve: ${Math.round(r.timeToResolveMs / 1000)} s`);
    this.log(`plan (${r.plan.planner}): ${r.plan.rationale.join('; ')}`);
    if (r.steps.length) this.log(timelineTable(r.steps.map((s, i) => ({ id: i, at: '', actor: s.kind, kind: s.kind, step: s.tool, status: s.status === 'ok' && s.finding ? 'failed' : s.status, input: null, output: null, decision: s.finding ?? s.purpose, durationMs: s.durationMs }))));
    this.log(`details: twl ticket show ${r.ticket.id}`);
  }
}
