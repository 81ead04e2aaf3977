import { Flags } from '@oclif/core';
import { OpCommand } from '../../src/cli/base.js';
import { targetFlag } from '../../src/cli/flags.js';
import { bytes, table } from '../../src/cli/render.js';
import op from '../../src/ops/backup/prune.js';
import type { OutputOf } from '../../src/ops/op.js';

export default class BackupPrune extends OpCommand<typeof op> {
  static override op = op;
  static override summary = 'Delete old backups by retention (keep last N and/or N days).';
  static override description = op.description;
  static override examples = [
    '<%= config.bin %> <%= command.id %> --keep-last 7 --dry-run',
    '<%= config.bin %> <%= command.id %> --keep-days 30 --keep-last 3',
    '<%= config.bin %> <%= command.id %> --target billing --json',
  ];
  static override flags = {
    'keep-last': Flags.integer({ description: 'Keep the newest N backups of each target (default: backup.keepLast).', min: 1 }),
    'keep-days': Flags.integer({ description: 'Keep backups younger than N days (default: backup.keepDays).', min: 1 }),
    'dry-run': Flags.boolean({ description: 'Only list what would be deleted.' }),
    target: targetFlag,
  };

  protected async input() {
    const { flags } = await this.parse(BackupPrune);
    return { keep_last: flags['keep-last'], keep_days: flags['keep-days'], dry_run: flags['dry-run'], target: flags.target };
  }

  protected render(r: OutputOf<typeof op>): void {
    const rule = [r.keepLast !== null ? `the newest ${r.keepLast}` : '', r.keepDays !== null ? `those younger than ${r.keepDays} days` : ''].filter(Boolean).join(' and ');
    if (r.deleted.length === 0) return this.log(`Nothing to prune: keeping ${r.kept.length} backup(s) (${rule}, and always the newest of each target).`);
    this.log(`${r.dryRun ? 'Would delete' : 'Deleted'} ${r.deleted.length} backup(s), ${bytes(r.freedBytes)}; kept ${r.kept.length} (${rule}).`);
    this.log(table(['id', 'target', 'created', 'size'], r.deleted.map((b) => [b.id, b.target, b.createdAt.slice(0, 19).replace('T', ' '), bytes(b.sizeBytes)])));
    if (r.dryRun) this.log('Run again without --dry-run to delete them.');
  }
}
