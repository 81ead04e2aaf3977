import { OpCommand } from '../../src/cli/base.js';
import { table } from '../../src/cli/render.js';
import op from '../../src/ops/docs/list.js';
import type { OutputOf } from '../../src/ops/op.js';

export default class DocsList extends OpCommand<typeof op> {
  static override op = op;
  static override summary = 'List the indexed documentation libraries and their versions.';
  static override description = op.description;
  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --json'];

  protected async input() {
    await this.parse(DocsList);
    return {};
  }

  protected render(r: OutputOf<typeof op>): void {
    if (!r.libraries.length) return this.log('No documentation indexed yet: twl docs add SOURCE.');
    this.log(table(['ID', 'VERSION', 'PAGES', 'CHUNKS', 'INDEXED', 'SOURCE'], r.libraries.flatMap((l) => l.versions.map((v) => [l.id, v.version, v.pages, v.chunks, v.indexedAt.slice(0, 19).replace('T', ' '), v.source]))));
  }
}
