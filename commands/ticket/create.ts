import { Args, Flags } from '@oclif/core';
import { OpCommand } from '../../src/cli/base.js';
import { readStdin } from '../../src/cli/io.js';
import op from '../../src/ops/ticket/create.js';
import type { OutputOf } from '../../src/ops/op.js';

export default class TicketCreate extends OpCommand<typeof op> {
  static override op = op;
  static override summary = 'Create a ticket from its text (or stdin).';
  static override description = op.description;
  static override examples = [
    '<%= config.bin %> <%= command.id %> "Application ne répond plus depuis 2h"',
    '<%= config.bin %> <%= command.id %> "VPN down for the Lyon office" --requester alice@example.com --json',
    'mail-to-text < message.eml | <%= config.bin %> <%= command.id %> - --source email',
  ];
  static override args = { text: Args.string({ description: 'The ticket text; - reads it from stdin.', required: true }) };
  static override flags = {
    title: Flags.string({ description: 'A title (default: the first line of the text).' }),
    requester: Flags.string({ description: 'Who asked.' }),
    source: Flags.string({ description: 'Where it came from (default: cli).' }),
  };

  protected async input() {
    const { args, flags } = await this.parse(TicketCreate);
    return { text: args.text === '-' ? await readStdin() : args.text, title: flags.title, requester: flags.requester, source: flags.source };
  }

  protected render(t: OutputOf<typeof op>): void {
    this.log(`created ticket #${t.id}: ${t.title}\nnext: twl ticket resolve ${t.id}`);
  }
}
