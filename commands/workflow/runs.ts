import { Args, Flags } from '@oclif/core';
import { OpCommand } from '../../src/cli/base.js';
import { table } from '../../src/cli/render.js';
import type { OutputOf } from '../../src/ops/op.js';
import op from '../../src/ops/workflow/runs.js';
import { runStatuses } from '../../src/workflows/types.js';

export default class WorkflowRuns extends OpCommand<typeof op> {
  static override op = op;
  static override summary = 'List recorded workflow runs, newest first.';
  static override description = op.description;
  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> incident-fanout --status failed', '<%= config.bin %> <%= command.id %> --limit 20 --before 120 --json'];
  static override args = { workflow: Args.string({ description: 'Only this workflow\'s runs.' }) };
  static override flags = {
    status: Flags.string({ description: 'Only these statuses (repeat).', options: [...runStatuses], multiple: true }),
    limit: Flags.integer({ description: 'At most this many.', default: 50, min: 1, max: 1000 }),
    before: Flags.integer({ description: 'Only runs with an id below this (the next page).', min: 1 }),
  };

  protected async input() {
    const { args, flags } = await this.parse(WorkflowRuns);
    return { workflow: args.workflow, status: flags.status, limit: flags.limit, before: flags.before };
  }

  protected render(r: OutputOf<typeof op>): void {
    if (!r.runs.length) return this.log('No workflow runs match.');
    this.log(table(['RUN', 'WORKFLOW', 'STATUS', 'STEP', 'BY', 'STARTED', 'MS'], r.runs.map((x) => [x.id, x.workflow, x.status, x.step ?? '', x.actor, x.startedAt, x.durationMs === null ? '' : Math.round(x.durationMs)])));
  }
}
