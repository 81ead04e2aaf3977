import { OpCommand } from '../../src/cli/base.js';
import { ticketArg, ticketDetail, ticketIdOf, timelineErrors, timelineTable } from '../../src/cli/tickets.js';
import op from '../../src/ops/ticket/show.js';
import type { OutputOf } from '../../src/ops/op.js';

export default class TicketShow extends OpCommand<typeof op> {
  static override op = op;
  static override summary = 'Show a ticket with every step of its timeline.';
  static override description = op.description;
  static override examples = ['<%= config.bin %> <%= command.id %> 42', '<%= config.bin %> <%= command.id %> last --json'];
  static override args = { id: ticketArg };

  protected async input() {
    const { args } = await this.parse(TicketShow);
    return { id: await ticketIdOf(args.id, () => this.runtime()) };
  }

  protected render(r: OutputOf<typeof op>): void {
    this.log(`${ticketDetail(r.ticket)}\n\nTimeline\n${timelineTable(r.timeline)}${timelineErrors(r.timeline)}`);
  }
}
