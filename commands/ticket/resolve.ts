import { Flags } from '@oclif/core';
import { ResolvingCommand } from '../../src/cli/resolving.js';
import { ticketArg, ticketIdOf } from '../../src/cli/tickets.js';
import type { OutputOf } from '../../src/ops/op.js';
import op from '../../src/ops/ticket/resolve.js';

export default class TicketResolve extends ResolvingCommand<typeof op> {
  static override op = op;
  static override summary = 'Triage, plan, check, fix, and resolve or escalate a ticket.';
  static override description = `${op.description}\n\nExit code 0 when resolved; 1 escalated; 4 waiting for approval (approve with \`twl ticket approve\`); 130 interrupted (Ctrl-C, during a step or at an approval question, leaves the ticket triaged, and the timeline says where it stopped).`;
  static override examples = [
    '<%= config.bin %> <%= command.id %> 42',
    '<%= config.bin %> <%= command.id %> last --yes --json',
  ];
  static override args = { id: ticketArg };
  static override flags = { force: Flags.boolean({ description: 'Take over a ticket left in_progress by a resolver that was killed.' }) };

  protected async input() {
    const { args, flags } = await this.parse(TicketResolve);
    return { ticket_id: await ticketIdOf(args.id, () => this.runtime()), force: flags.force };
  }

  protected render(r: OutputOf<typeof op>): void {
    this.renderResolution(r);
  }
}
