import { Args } from '@oclif/core';
import { OpCommand } from '../../src/cli/base.js';
import { targetFlag } from '../../src/cli/flags.js';
import { bytes, table } from '../../src/cli/render.js';
import op from '../../src/ops/db/describe.js';
import type { OutputOf } from '../../src/ops/op.js';

export default class DbDescribe extends OpCommand<typeof op> {
  static override op = op;
  static override summary = 'Show the columns, indexes and size of a table.';
  static override description = op.description;
  static override examples = ['<%= config.bin %> <%= command.id %> twl_cache', '<%= config.bin %> <%= command.id %> public.orders --target billing --json'];
  static override args = { table: Args.string({ description: 'table or schema.table', required: true }) };
  static override flags = { target: targetFlag };

  protected async input() {
    const { args, flags } = await this.parse(DbDescribe);
    return { table: args.table, target: flags.target };
  }

  protected render(r: OutputOf<typeof op>): void {
    this.log(`${r.kind} ${r.schema}.${r.name} — ~${r.rowEstimate ?? '?'} rows, ${bytes(r.sizeBytes)}\n`);
    this.log(table(['column', 'type', 'null', 'default'], r.columns.map((c) => [c.name, c.type, c.nullable ? 'yes' : 'no', c.default])));
    if (r.indexes.length) this.log(`\n${table(['index', 'definition'], r.indexes.map((i) => [i.name, i.definition]))}`);
  }
}
