import { Flags } from '@oclif/core';
import { OpCommand } from '../../src/cli/base.js';
import { table } from '../../src/cli/render.js';
import { ticketFlag, ticketIdOf } from '../../src/cli/tickets.js';
import op from '../../src/ops/audit/list.js';
import type { OutputOf } from '../../src/ops/op.js';

export default class AuditList extends OpCommand<typeof op> {
  static override op = op;
  static override summary = 'Show the audit log of command decisions.';
  static override description = op.description;
  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --outcome refused --limit 20 --json'];
  static override flags = {
    limit: Flags.integer({ description: 'At most this many.', default: 50, min: 1, max: 10_000 }),
    outcome: Flags.string({ description: 'Only this outcome.', options: ['started', 'ran', 'refused', 'dry-run', 'failed', 'timeout', 'cancelled'] }),
    ticket: ticketFlag('Only for this ticket.'),
  };

  protected async input() {
    const { flags } = await this.parse(AuditList);
    return { limit: flags.limit, outcome: flags.outcome, ticket_id: flags.ticket === undefined ? undefined : await ticketIdOf(flags.ticket, () => this.runtime()) };
  }

  protected render(r: OutputOf<typeof op>): void {
    if (!r.entries.length) return this.log('The audit log is empty.');
    this.log(table(['id', 'at', 'actor', 'command', 'decision', 'outcome', 'exit', 'ms', 'rule'], r.entries.map((e) => [e.id, e.at.slice(0, 19), e.actor, [e.resolved ?? e.program, ...e.args].join(' '), `${e.decision}${e.approved === null ? '' : e.approved ? ' ✔' : ' ✖'}`, e.outcome, e.exitCode ?? '', e.durationMs ?? '', e.rule])));
  }
}
