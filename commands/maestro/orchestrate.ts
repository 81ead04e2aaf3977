import { Flags } from '@oclif/core';
import { OpCommand } from '../../src/cli/base.js';
import { ticketFlag, ticketIdOf } from '../../src/cli/tickets.js';
import { exitForOutcome } from '../../src/cli/resolving.js';
import op from '../../src/ops/maestro/orchestrate.js';
import type { OutputOf } from '../../src/ops/op.js';
import { TwlError } from '../../src/runtime/errors.js';

export default class MaestroOrchestrate extends OpCommand<typeof op> {
  static override op = op;
  static override summary = 'Run a ticket through the agents, or investigate a goal read-only.';
  static override description = `${op.description}\n\nWith --ticket, exit codes as for \`ticket resolve\`: 0 resolved, 1 escalated, 4 waiting for approval, 130 interrupted.`;
  static override examples = [
    '<%= config.bin %> <%= command.id %> --ticket 42 --yes',
    '<%= config.bin %> <%= command.id %> --ticket last',
    '<%= config.bin %> <%= command.id %> --goal "the billing database feels slow" --json',
  ];
  static override flags = {
    ticket: ticketFlag('Resolve this ticket.', { exclusive: ['goal'] }),
    goal: Flags.string({ description: 'Investigate this, without a ticket and without fixes.' }),
  };

  protected async input() {
    const { flags } = await this.parse(MaestroOrchestrate);
    if ((flags.ticket === undefined) === (flags.goal === undefined)) throw new TwlError('TWL_INPUT_INVALID', 'Give --ticket or --goal, one of the two.');
    return { ticket_id: flags.ticket === undefined ? undefined : await ticketIdOf(flags.ticket, () => this.runtime()), goal: flags.goal };
  }

  override async run(): Promise<OutputOf<typeof op>> {
    const result = await super.run();
    if (result.resolution) exitForOutcome(result.resolution.outcome);
    return result;
  }

  protected render(r: OutputOf<typeof op>): void {
    if (r.resolution) return this.log(`#${r.resolution.ticket.id} ${r.resolution.outcome}: ${r.resolution.summary}`);
    const inv = r.investigation!;
    this.log(`${inv.classification.category}, priority ${inv.classification.priority}; ${inv.rationale.join('; ')}`);
    for (const s of inv.steps) this.log(`  ${s.finding ? '✖' : '✔'} ${s.tool}: ${s.finding ?? s.purpose} (${s.durationMs} ms)`);
    for (const f of inv.skippedFixes) this.log(`  ↷ ${f}`);
    this.log(inv.findings.length ? `found: ${inv.findings.join('; ')}` : 'nothing wrong found by the checks');
  }
}
