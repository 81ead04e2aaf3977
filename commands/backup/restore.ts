import { Flags } from '@oclif/core';
import { OpCommand } from '../../src/cli/base.js';
import { targetFlag } from '../../src/cli/flags.js';
import { table } from '../../src/cli/render.js';
import op from '../../src/ops/backup/restore.js';
import type { OutputOf } from '../../src/ops/op.js';

export default class BackupRestore extends OpCommand<typeof op> {
  static override op = op;
  static override summary = 'Restore a backup into the database it came from (asks first).';
  static override description = `${op.description}\nOn a terminal it asks; in scripts pass --yes.`;
  static override examples = [
    '<%= config.bin %> <%= command.id %> --id 20260115T103012345Z-store-1a2b',
    '<%= config.bin %> <%= command.id %> --id latest --target billing --yes',
    '<%= config.bin %> <%= command.id %> --id latest --keep-previous --yes --json',
  ];
  static override flags = {
    id: Flags.string({ description: 'The backup to restore (from `twl backup list`), or latest (of --target).', required: true }),
    target: targetFlag,
    'keep-previous': Flags.boolean({ description: 'Embedded store: keep the replaced data directory as a timestamped sibling.' }),
  };

  protected async input() {
    const { flags } = await this.parse(BackupRestore);
    return { id: flags.id, target: flags.target, keep_previous: flags['keep-previous'] };
  }

  protected render(r: OutputOf<typeof op>): void {
    this.log(`Restored ${r.id} into ${r.target} (${r.into}) in ${r.durationMs} ms.`);
    if (r.previous) this.log(`The replaced data directory is kept at ${r.previous}.`);
    this.log(table(['table', 'backup rows', 'now', ''], r.tables.map((t) => [t.table, t.expected, t.actual, t.ok ? 'ok' : 'differs'])));
  }
}
