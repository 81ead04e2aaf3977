import { Args } from '@oclif/core';
import { OpCommand } from '../../src/cli/base.js';
import { table } from '../../src/cli/render.js';
import op from '../../src/ops/docs/resolve.js';
import type { OutputOf } from '../../src/ops/op.js';

export default class DocsResolve extends OpCommand<typeof op> {
  static override op = op;
  static override summary = 'Find a library id by name (the resolve-library-id tool).';
  static override description = op.description;
  static override examples = ['<%= config.bin %> <%= command.id %> zod', '<%= config.bin %> <%= command.id %> "zdo" --json'];
  static override args = { libraryName: Args.string({ description: 'The library or package name.', required: true }) };

  protected async input() {
    const { args } = await this.parse(DocsResolve);
    return { libraryName: args.libraryName };
  }

  protected render(r: OutputOf<typeof op>): void {
    if (!r.libraries.length) return this.log(`No indexed library matches "${r.libraryName}" (twl docs list shows them all).`);
    this.log(table(['ID', 'VERSIONS', 'SNIPPETS', 'SCORE', 'DESCRIPTION'], r.libraries.map((l) => [l.id, l.versions.map((v) => v.version).join(', '), l.snippets, l.score, l.description ?? ''])));
  }
}
