import { Flags } from '@oclif/core';
import { createWriteStream, renameSync } from 'node:fs';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { exportTickets } from '../../src/agents/tickets/bulk.js';
import { statuses } from '../../src/agents/tickets/repo.js';
import { categories, priorities } from '../../src/agents/triage/taxonomy.js';
import { TwlCommand } from '../../src/cli/base.js';

interface Result {
  format: string;
  output: string;
  exported: number;
}

const fields = ['id', 'title', 'text', 'requester', 'source', 'status', 'category', 'priority', 'sentiment', 'urgency', 'confidence', 'needsHuman', 'assignedAgent', 'resolution', 'escalationReason', 'createdAt', 'updatedAt', 'resolvedAt', 'closedAt'] as const;

export default class TicketExport extends TwlCommand<Result> {
  static override summary = 'Export tickets as JSONL or CSV.';
  static override description = 'Streams every matching ticket, oldest first, to stdout or a file (written to a temporary name and renamed when complete). Both formats import back with `twl ticket import`, every field kept (with --keep-ids, the ticket numbers too).';
  static override examples = [
    '<%= config.bin %> <%= command.id %> > tickets.jsonl',
    '<%= config.bin %> <%= command.id %> --format csv --status resolved --output resolved.csv',
  ];
  static override enableJsonFlag = false;
  static override flags = {
    format: Flags.string({ description: 'Output format.', options: ['jsonl', 'csv'], default: 'jsonl' }),
    output: Flags.string({ char: 'o', description: 'Write to this file instead of stdout.' }),
    status: Flags.string({ description: 'Only these statuses (repeat).', options: [...statuses], multiple: true }),
    category: Flags.string({ description: 'Only these categories (repeat).', options: [...categories], multiple: true }),
    priority: Flags.string({ description: 'Only these priorities (repeat).', options: [...priorities], multiple: true }),
  };

  async run(): Promise<Result> {
    const { flags } = await this.parse(TicketExport);
    const runtime = await this.runtime();
    const store = await runtime.store();
    const partial = flags.output ? `${flags.output}.partial` : undefined;
    const out: Writable = partial ? createWriteStream(partial) : process.stdout;
    const write = async (chunk: string) => {
      if (!out.write(chunk)) await once(out, 'drain');
    };
    let exported = 0;
    const { stringify } = flags.format === 'csv' ? await import('csv-stringify/sync') : { stringify: undefined };
    if (stringify) await write(stringify([fields as unknown as string[]]));
    for await (const t of exportTickets(store, flags)) {
      exported++;
      if (stringify) await write(stringify([fields.map((f) => t[f] ?? '')]));
      else await write(`${JSON.stringify(t)}\n`);
    }
    if (partial) {
      out.end();
      await once(out, 'finish');
      renameSync(partial, flags.output!);
      process.stderr.write(`exported ${exported} tickets to ${flags.output}\n`);
    }
    return { format: flags.format, output: flags.output ?? '-', exported };
  }
}
