import { Flags } from '@oclif/core';
import { statuses } from '../../src/agents/tickets/repo.js';
import { categories, priorities } from '../../src/agents/triage/taxonomy.js';
import { OpCommand } from '../../src/cli/base.js';
import { ticketTable } from '../../src/cli/tickets.js';
import op from '../../src/ops/ticket/list.js';
import type { OutputOf } from '../../src/ops/op.js';

export default class TicketList extends OpCommand<typeof op> {
  static override op = op;
  static override summary = 'List tickets, most urgent first.';
  static override description = op.description;
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --status new --status triaged --priority urgent --priority high',
    '<%= config.bin %> <%= command.id %> --category database --text replication --sort created --limit 20 --json',
  ];
  static override flags = {
    status: Flags.string({ description: 'Only these statuses (repeat).', options: [...statuses], multiple: true }),
    category: Flags.string({ description: 'Only these categories (repeat).', options: [...categories], multiple: true }),
    priority: Flags.string({ description: 'Only these priorities (repeat).', options: [...priorities], multiple: true }),
    text: Flags.string({ description: 'Words in the title or text.' }),
    sort: Flags.string({ description: 'Sort order.', options: ['priority', 'created', 'updated', 'id'], default: 'priority' }),
    order: Flags.string({ description: 'asc or desc (default: most urgent, or newest, first).', options: ['asc', 'desc'] }),
    limit: Flags.integer({ description: 'At most this many.', default: 50, min: 1, max: 10_000 }),
    offset: Flags.integer({ description: 'Skip this many.', default: 0, min: 0 }),
  };

  protected async input() {
    const { flags } = await this.parse(TicketList);
    return { status: flags.status, category: flags.category, priority: flags.priority, text: flags.text, sort: flags.sort, order: flags.order, limit: flags.limit, offset: flags.offset };
  }

  protected render(r: OutputOf<typeof op>): void {
    if (!r.tickets.length) return this.log('No tickets match.');
    this.log(ticketTable(r.tickets));
    if (r.total > r.tickets.length) this.log(`(${r.tickets.length} of ${r.total}; --limit and --offset page through them)`);
  }
}
