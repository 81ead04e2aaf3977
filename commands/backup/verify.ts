import { Flags } from '@oclif/core';
import { OpCommand } from '../../src/cli/base.js';
import { targetFlag } from '../../src/cli/flags.js';
import { table } from '../../src/cli/render.js';
import op from '../../src/ops/backup/verify.js';
import type { OutputOf } from '../../src/ops/op.js';

export default class BackupVerify extends OpCommand<typeof op> {
  static override op = op;
  static override summary = 'Check a backup\'s checksums, restore it into a scratch database and compare row counts.';
  static override description = op.description;
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --id 20260115T103012345Z-store-1a2b',
    '<%= config.bin %> <%= command.id %> --target billing --json',
  ];
  static override flags = {
    id: Flags.string({ description: 'The backup (from `twl backup list`); default: the newest of --target.', default: 'latest' }),
    target: targetFlag,
  };

  protected async input() {
    const { flags } = await this.parse(BackupVerify);
    return { id: flags.id, target: flags.target };
  }

  protected render(r: OutputOf<typeof op>): void {
    this.log(`Backup ${r.id} (${r.kind}, ${r.target}) is good: ${r.checksums.length} checksum(s) match, restored into ${r.restoredInto} with the recorded row counts.`);
    this.log(table(['table', 'rows'], r.tables.map((t) => [t.table, t.actual])));
  }
}
