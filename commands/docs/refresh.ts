import { Args } from '@oclif/core';
import { OpCommand } from '../../src/cli/base.js';
import op from '../../src/ops/docs/refresh.js';
import type { OutputOf } from '../../src/ops/op.js';

export default class DocsRefresh extends OpCommand<typeof op> {
  static override op = op;
  static override summary = 'Re-read a library from its source; only what changed is re-indexed.';
  static override description = op.description;
  static override examples = ['<%= config.bin %> <%= command.id %> /web/docs.example.com', '<%= config.bin %> <%= command.id %> /npm/zod@4.1.12 --json'];
  static override args = { library: Args.string({ description: 'Library id (/KIND/NAME[@VERSION]).', required: true }) };

  protected async input() {
    const { args } = await this.parse(DocsRefresh);
    return { library: args.library };
  }

  protected render(r: OutputOf<typeof op>): void {
    this.log(`${r.libraryId}@${r.version}: ${r.changed} changed, ${r.unchanged} unchanged, ${r.removed} removed; ${r.chunks} chunks`);
    for (const s of r.skipped) this.log(`  skipped ${s.location}: ${s.reason}`);
  }
}
