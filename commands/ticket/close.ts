import { Args, Flags } from '@oclif/core';
import { OpCommand } from '../../src/cli/base.js';
import op from '../../src/ops/ticket/close.js';
import type { OutputOf } from '../../src/ops/op.js';

export default class TicketClose extends OpCommand<typeof op> {
  static override op = op;
  static override summary = op.description.split('. ')[0] + '.';
  static override description = op.description;
  static override examples = ['<%= config.bin %> <%= command.id %> 42 --note "fixed by the vendor patch"'];
  static override args = { id: Args.integer({ description: 'The ticket number.', required: true, min: 1 }) };
  static override flags = { note: Flags.string({ description: 'Why, for the timeline.' }) };

  protected async input() {
    const { args, flags } = await this.parse(TicketClose);
    return { id: args.id, note: flags.note };
  }

  protected render(t: OutputOf<typeof op>): void {
    this.log(`ticket #${t.id} is ${t.status}`);
  }
}
