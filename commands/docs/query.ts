import { Args, Flags } from '@oclif/core';
import { OpCommand } from '../../src/cli/base.js';
import { renderHits } from '../../src/docs/render.js';
import op from '../../src/ops/docs/query.js';
import type { OutputOf } from '../../src/ops/op.js';

export default class DocsQuery extends OpCommand<typeof op> {
  static override op = op;
  static override summary = 'Ask one library\'s documentation (the query-docs tool).';
  static override description = op.description;
  static override examples = ['<%= config.bin %> <%= command.id %> /npm/zod "custom error messages"', '<%= config.bin %> <%= command.id %> /npm/zod@4 "refine a string" --tokens 2000 --json'];
  static override args = {
    libraryId: Args.string({ description: 'Library id from twl docs resolve.', required: true }),
    query: Args.string({ description: 'The question.', required: true }),
  };
  static override flags = { tokens: Flags.integer({ description: 'Token budget (default docs.tokens).', min: 100, max: 100_000 }) };

  protected async input() {
    const { args, flags } = await this.parse(DocsQuery);
    return { libraryId: args.libraryId, query: args.query, tokens: flags.tokens };
  }

  protected render(r: OutputOf<typeof op>): void {
    if (!r.results.length) return this.log(`Nothing in ${r.libraryId} matches "${r.query}".`);
    this.log(renderHits(r.results));
    if (r.truncated) this.log(`(more matched; raise --tokens above ${r.tokens})`);
  }
}
