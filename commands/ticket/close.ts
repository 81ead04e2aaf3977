import { Flags } from '@oclif/core';
import { OpCommand } from '../../src/cli/base.js';
import { ticketArg, ticketIdOf } from '../../src/cli/tickets.js';
import op from '../../src/ops/ticket/close.js';
import type { OutputOf } from '../../src/ops/op.js';

export default class TicketClose extends OpCommand<typeof op> {
  static override op = op;
  static override summary = op.description.split('. ')[0] + '.';
  static override description = op.description;
  static override examples = ['<%= config.bin %> <%= command.id %> 42 --note "fixed by the vendor patch"'];
  static override args = { id: ticketArg };
  static override flags = { note: Flags.string({ description: 'Why, for the timeline.' }) };

  protected async input() {
    const { args, flags } = await this.parse(TicketClose);
    return { id: await ticketIdOf(args.id, () => this.runtime()), note: flags.note };
  }

  protected render(t: OutputOf<typeof op>): void {
    this.log(`ticket #${t.id} is ${t.status}`);
  }
}
