import { Args } from '@oclif/core';
import { OpCommand } from '../../src/cli/base.js';
import { ticketArg, ticketIdOf } from '../../src/cli/tickets.js';
import { readStdin } from '../../src/cli/io.js';
import op from '../../src/ops/ticket/comment.js';
import type { OutputOf } from '../../src/ops/op.js';

export default class TicketComment extends OpCommand<typeof op> {
  static override op = op;
  static override summary = "Add a comment to a ticket's timeline.";
  static override description = op.description;
  static override examples = ['<%= config.bin %> <%= command.id %> 42 "Called the user: works again after a reboot."'];
  static override args = {
    id: ticketArg,
    text: Args.string({ description: 'The comment; - reads it from stdin.', required: true }),
  };

  protected async input() {
    const { args } = await this.parse(TicketComment);
    return { id: await ticketIdOf(args.id, () => this.runtime()), text: args.text === '-' ? await readStdin() : args.text };
  }

  protected render(e: OutputOf<typeof op>): void {
    this.log(`commented (event ${e.id})`);
  }
}
