import { Flags } from '@oclif/core';
import { ResolvingCommand } from '../../src/cli/resolving.js';
import { ticketArg, ticketIdOf } from '../../src/cli/tickets.js';
import type { OutputOf } from '../../src/ops/op.js';
import op from '../../src/ops/ticket/approve.js';

export default class TicketApprove extends ResolvingCommand<typeof op> {
  static override op = op;
  static override summary = 'Approve the step a ticket waits for, and resume resolving it.';
  static override description = `${op.description}\n\nExit codes as for \`ticket resolve\`: 0 resolved, 1 escalated, 4 waiting for another approval, 130 interrupted; 4 (TWL_TICKET_STATE) when the ticket is not waiting for approval.`;
  static override examples = ['<%= config.bin %> <%= command.id %> 42', '<%= config.bin %> <%= command.id %> 42 --step cache_cache_delete --json'];
  static override args = { id: ticketArg };
  static override flags = { step: Flags.string({ description: 'The tool of the step you approve (refused if the ticket waits for another one).' }) };

  protected async input() {
    const { args, flags } = await this.parse(TicketApprove);
    return { ticket_id: await ticketIdOf(args.id, () => this.runtime()), step: flags.step };
  }

  protected render(r: OutputOf<typeof op>): void {
    this.log(`approved ${r.approved.tool} as ${r.approved.by}${r.approved.used ? '' : ' (not used: the new plan no longer has this step)'}`);
    this.renderResolution(r);
  }
}
