import { OpCommand } from '../../src/cli/base.js';
import { targetFlag } from '../../src/cli/flags.js';
import { bytes, table } from '../../src/cli/render.js';
import op from '../../src/ops/backup/list.js';
import type { OutputOf } from '../../src/ops/op.js';

export default class BackupList extends OpCommand<typeof op> {
  static override op = op;
  static override summary = 'List backups, newest first.';
  static override description = op.description;
  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --target billing --json'];
  static override flags = { target: targetFlag };

  protected async input() {
    const { flags } = await this.parse(BackupList);
    return { target: flags.target };
  }

  protected render(r: OutputOf<typeof op>): void {
    if (r.backups.length === 0) return this.log(`No backups in ${r.dir} yet. Create one with: twl backup create`);
    const verified = (v: (typeof r.backups)[number]['verified']) => (v ? `${v.ok ? 'ok' : 'FAILED'} ${v.at.slice(0, 19).replace('T', ' ')}` : 'never');
    this.log(table(['id', 'kind', 'target', 'size', 'rows', 'created', 'verified'], r.backups.map((b) => [b.id, b.kind, b.target, bytes(b.sizeBytes), b.rows, b.createdAt.slice(0, 19).replace('T', ' '), verified(b.verified)])));
  }
}
