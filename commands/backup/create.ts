import { OpCommand } from '../../src/cli/base.js';
import { targetFlag } from '../../src/cli/flags.js';
import { bytes } from '../../src/cli/render.js';
import op from '../../src/ops/backup/create.js';
import type { OutputOf } from '../../src/ops/op.js';

export default class BackupCreate extends OpCommand<typeof op> {
  static override op = op;
  static override summary = 'Back up twl\'s store (or a database target) with its configuration.';
  static override description = op.description;
  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --target billing --json'];
  static override flags = { target: targetFlag };

  protected async input() {
    const { flags } = await this.parse(BackupCreate);
    return { target: flags.target };
  }

  protected render(r: OutputOf<typeof op>): void {
    const rows = Object.values(r.tables).reduce((s, n) => s + n, 0);
    this.log(`Backup ${r.id} of ${r.target} (${r.kind}): ${Object.keys(r.tables).length} tables, ${rows} rows, ${bytes(r.sizeBytes)} in ${r.durationMs} ms`);
    this.log(`  ${r.dir}`);
    for (const f of r.files) this.log(`  ${f.name}  ${bytes(f.size)}  sha256 ${f.sha256}`);
    if (r.configCopied) this.log('  The configuration file was copied as is: it may hold secrets; keep the backup private.');
    this.log(`Check it with: twl backup verify --id ${r.id}`);
  }
}
