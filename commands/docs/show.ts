import { Args } from '@oclif/core';
import { OpCommand } from '../../src/cli/base.js';
import { table } from '../../src/cli/render.js';
import op from '../../src/ops/docs/show.js';
import type { OutputOf } from '../../src/ops/op.js';

export default class DocsShow extends OpCommand<typeof op> {
  static override op = op;
  static override summary = 'Show one indexed library version and its pages.';
  static override description = op.description;
  static override examples = ['<%= config.bin %> <%= command.id %> /npm/zod', '<%= config.bin %> <%= command.id %> /local/handbook@latest --json'];
  static override args = { library: Args.string({ description: 'Library id (/KIND/NAME[@VERSION]).', required: true }) };

  protected async input() {
    const { args } = await this.parse(DocsShow);
    return { library: args.library };
  }

  protected render(r: OutputOf<typeof op>): void {
    this.log(`${r.libraryId}@${r.version}  ${r.name}${r.description ? ` — ${r.description}` : ''}`);
    this.log(`source ${r.source}, indexed ${r.indexedAt}, ${r.chunks} chunks`);
    this.log(table(['PAGE', 'TITLE', 'CHUNKS'], r.pages.map((p) => [p.location, p.title, p.chunks])));
  }
}
