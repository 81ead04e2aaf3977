import { Listr, ListrLogger, ProcessOutput, type ListrTaskWrapper } from 'listr2';
import type { resolveOutput } from '../ops/ticket/resolve.js';
import type { AnyOp, OutputOf } from '../ops/op.js';
import type { Progress } from '../runtime/context.js';
import type { z } from 'zod';
import { OpCommand } from './base.js';
import { statusMark } from './render.js';
import { timelineTable } from './tickets.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Task = ListrTaskWrapper<any, any, any>;
type Resolution = z.output<typeof resolveOutput>;

/** A listr2 logger whose "stdout" is stderr too. */
const progressLogger = () => new ListrLogger({ processOutput: new ProcessOutput(process.stderr, process.stderr) });

/** Fails the progress line of a ticket that was not resolved (listr2 marks a failed task ✖). */
class NotResolved extends Error {}

/** The exit code of each outcome of a resolution: 0 resolved, 1 escalated, 4 waiting for approval, 130 interrupted. */
export const outcomeExit: Record<Resolution['outcome'], number> = { resolved: 0, escalated: 1, waiting_approval: 4, interrupted: 130 };

/** Sets the process exit code for a resolution's outcome (the result is printed either way). */
export function exitForOutcome(outcome: Resolution['outcome']): void {
  const exit = outcomeExit[outcome];
  if (exit) process.exitCode = exit;
}

/**
 * A command that runs the resolver (`ticket resolve`, `ticket approve`): listr2 draws its steps
 * on stderr (a plain line per step when it is not a terminal), a question for an approval is
 * asked through listr2's prompt adapter so it shows above the spinner, Ctrl-C at that question
 * interrupts like Ctrl-C during a step, and the outcome sets the exit code.
 */
export abstract class ResolvingCommand<O extends AnyOp> extends OpCommand<O> {
  private task?: Task;

  override async run(): Promise<OutputOf<O>> {
    let result!: OutputOf<O>;
    if (this.jsonEnabled()) result = await this.execute();
    else {
      let failure: unknown;
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
              const { ticket, outcome } = result as Resolution;
              task.title = `Ticket #${ticket.id}: ${outcome}`;
              if (outcome === 'escalated') throw new NotResolved('needs a human');
              if (outcome !== 'resolved') task.skip(outcome === 'waiting_approval' ? 'needs approval' : 'stopped');
            },
            rendererOptions: { persistentOutput: true, bottomBar: Infinity },
          },
        ],
        // exitOnError off: the plain renderer (not a terminal) prints a failed line only then.
        // Both renderers draw on stderr: stdout carries only the result (`twl ticket resolve 42 > report.txt`).
        { rendererOptions: { collapseErrors: false, showErrorMessage: false, showSkipMessage: false, suffixSkips: false, logger: progressLogger() }, fallbackRendererOptions: { logger: progressLogger() }, exitOnError: false, registerSignalListeners: false },
      ).run();
      if (failure) throw failure;
      this.task = undefined;
      this.render(result);
    }
    exitForOutcome((result as Resolution).outcome);
    return result;
  }

  protected override onProgress(update: Progress): void {
    if (!this.task) return super.onProgress(update);
    const mark = statusMark[update.status ?? 'running'];
    if (update.status === 'running') this.task.title = `Resolving: step ${(update.done ?? 0) + 1}/${update.total} ${update.message}`;
    else this.task.output = `${mark} ${update.message}`;
  }

  /**
   * On a terminal the question goes through listr2's prompt adapter, which stops redrawing the
   * task while it asks (a plain readline prompt would be drawn over by the spinner, unseen).
   */
  protected override async ask(question: string): Promise<boolean | undefined> {
    if (!this.task || !process.stdin.isTTY || !process.stderr.isTTY || this.argv.includes('--yes') || this.argv.includes('-y')) return super.ask(question);
    const [{ confirm }, { ListrInquirerPromptAdapter }] = await Promise.all([import('@inquirer/prompts'), import('@listr2/prompt-adapter-inquirer')]);
    try {
      return (await this.task.prompt(ListrInquirerPromptAdapter).run(confirm, { message: question, default: false })) as unknown as boolean;
    } catch (err) {
      if (!OpCommand.isPromptInterrupt(err)) throw err;
      this.interrupt();
      return undefined;
    }
  }

  protected renderResolution(r: Resolution): void {
    this.log(`#${r.ticket.id} ${r.outcome}: ${r.summary}`);
    if (r.timeToResolveMs !== null) this.log(`time to resolve: ${Math.round(r.timeToResolveMs / 1000)} s`);
    this.log(`plan (${r.plan.planner}): ${r.plan.rationale.join('; ')}`);
    if (r.steps.length) this.log(timelineTable(r.steps.map((s, i) => ({ id: i, at: '', actor: s.kind, kind: s.kind, step: s.tool, status: s.status === 'ok' && s.finding ? 'failed' : s.status, input: null, output: null, decision: s.finding ?? s.purpose, durationMs: s.durationMs }))));
    this.log(`details: twl ticket show ${r.ticket.id}`);
  }
}
