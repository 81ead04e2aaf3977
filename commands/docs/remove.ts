import { Args } from '@oclif/core';
import { OpCommand } from '../../src/cli/base.js';
import op from '../../src/ops/docs/remove.js';
import type { OutputOf } from '../../src/ops/op.js';

export default class DocsRemove extends OpCommand<typeof op> {
  static override op = op;
  static override summary = 'Remove a library version, or a whole library, from the index.';
  static override description = `${op.description}\nAsks first on a terminal; pass --yes in scripts.`;
  static override examples = ['<%= config.bin %> <%= command.id %> /npm/zod@3.25.0', '<%= config.bin %> <%= command.id %> /local/handbook --yes --json'];
  static override args = { library: Args.string({ description: 'Library id, with @VERSION to remove one version only.', required: true }) };

  protected async input() {
    const { args } = await this.parse(DocsRemove);
    return { library: args.library };
  }

  protected render(r: OutputOf<typeof op>): void {
    this.log(`removed ${r.libraryId} (${r.versions.join(', ')}): ${r.chunks} chunks`);
  }
}
