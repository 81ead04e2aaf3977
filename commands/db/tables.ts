import { Flags } from '@oclif/core';
import { OpCommand } from '../../src/cli/base.js';
import { targetFlag } from '../../src/cli/flags.js';
import { bytes, table } from '../../src/cli/render.js';
import op from '../../src/ops/db/tables.js';
import type { OutputOf } from '../../src/ops/op.js';

export default class DbTables extends OpCommand<typeof op> {
  static override op = op;
  static override summary = 'List tables and views with row estimates and sizes.';
  static override description = op.description;
  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --schema public --target billing --json'];
  static override flags = {
    schema: Flags.string({ description: 'Only this schema.' }),
    target: targetFlag,
  };

  protected async input() {
    const { flags } = await this.parse(DbTables);
    return { schema: flags.schema, target: flags.target };
  }

  protected render(r: OutputOf<typeof op>): void {
    if (r.tables.length === 0) return this.log(`No tables in ${r.target}.`);
    this.log(table(['schema', 'name', 'kind', 'rows (est.)', 'size'], r.tables.map((t) => [t.schema, t.name, t.kind, t.rowEstimate ?? '—', bytes(t.sizeBytes)])));
  }
}
