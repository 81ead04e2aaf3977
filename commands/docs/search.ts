import { Args, Flags } from '@oclif/core';
import { OpCommand } from '../../src/cli/base.js';
import op from '../../src/ops/docs/search.js';
import type { OutputOf } from '../../src/ops/op.js';
import { renderHits } from '../../src/docs/render.js';

export default class DocsSearch extends OpCommand<typeof op> {
  static override op = op;
  static override summary = 'Search the indexed documentation.';
  static override description = op.description;
  static override examples = [
    '<%= config.bin %> <%= command.id %> "safeParse error messages"',
    '<%= config.bin %> <%= command.id %> "connection pool" --library /npm/pg --limit 3 --json',
    '<%= config.bin %> <%= command.id %> --ticket 42',
  ];
  static override args = { query: Args.string({ description: 'Words or a question (English or French).' }) };
  static override flags = {
    library: Flags.string({ description: 'Only this library id (twl docs list).' }),
    ticket: Flags.integer({ description: 'Search with this ticket\'s title and text.', min: 1 }),
    limit: Flags.integer({ description: 'At most this many results.', default: 10, min: 1, max: 100 }),
  };

  protected async input() {
    const { args, flags } = await this.parse(DocsSearch);
    return { query: args.query, library: flags.library, ticket: flags.ticket, limit: flags.limit };
  }

  protected render(r: OutputOf<typeof op>): void {
    if (!r.results.length) return this.log(`Nothing matches "${r.query}".`);
    this.log(renderHits(r.results));
  }
}
