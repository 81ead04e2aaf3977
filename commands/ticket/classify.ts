import { Flags } from '@oclif/core';
import { OpCommand } from '../../src/cli/base.js';
import { optionalTicketArg, ticketIdOf } from '../../src/cli/tickets.js';
import op from '../../src/ops/ticket/classify.js';
import type { OutputOf } from '../../src/ops/op.js';
import { TwlError } from '../../src/runtime/errors.js';

export default class TicketClassify extends OpCommand<typeof op> {
  static override op = op;
  static override summary = 'Classify a ticket (category, priority) and record it, or classify any --text.';
  static override description = op.description;
  static override examples = [
    '<%= config.bin %> <%= command.id %> 42',
    '<%= config.bin %> <%= command.id %> last',
    '<%= config.bin %> <%= command.id %> --text "Server is down"',
    '<%= config.bin %> <%= command.id %> --text "Le VPN ne marche plus depuis ce matin" --json',
  ];
  static override args = { id: optionalTicketArg };
  static override flags = { text: Flags.string({ description: 'Classify this text instead (nothing is stored).' }) };

  protected async input() {
    const { args, flags } = await this.parse(TicketClassify);
    if ((args.id === undefined) === (flags.text === undefined)) throw new TwlError('TWL_INPUT_INVALID', 'Give a ticket ID or --text, one of the two.');
    return args.id !== undefined ? { ticket_id: await ticketIdOf(args.id, () => this.runtime()) } : { ticket_text: flags.text };
  }

  protected render(r: OutputOf<typeof op>): void {
    this.log(`${r.ticketId ? `#${r.ticketId}: ` : ''}${r.category} (${r.categoryConfidence}), priority ${r.priority} (${r.priorityConfidence})${r.needsHuman ? ' — needs a human' : ''}`);
    this.log(`sentiment ${r.sentiment.sentiment} (${r.sentiment.confidence}), urgency ${r.sentiment.urgency}; by ${r.method}`);
    for (const reason of r.reasons) this.log(`  · ${reason}`);
    if (r.fallback) this.log(`  · fallback: ${r.fallback}`);
  }
}
