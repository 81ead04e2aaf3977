import { Args, Flags } from '@oclif/core';
import { OpCommand } from '../../src/cli/base.js';
import { table } from '../../src/cli/render.js';
import op from '../../src/ops/tools/search.js';
import type { OutputOf } from '../../src/ops/op.js';

export default class ToolsSearch extends OpCommand<typeof op> {
  static override op = op;
  static override summary = 'Find tools in the catalog by relevance: name, title and description.';
  static override description = op.description;
  static override examples = ['<%= config.bin %> <%= command.id %> "create ticket"', '<%= config.bin %> <%= command.id %> memory graph --limit 5 --json'];
  static override strict = false;
  static override args = { query: Args.string({ description: 'Words to look for (several words are joined).', required: true }) };
  static override flags = { limit: Flags.integer({ description: 'Most tools shown.', default: 10, min: 1, max: 100 }) };

  protected async input() {
    const { argv, flags } = await this.parse(ToolsSearch);
    return { query: (argv as string[]).join(' '), limit: flags.limit };
  }

  protected render(result: OutputOf<typeof op>): void {
    if (!result.tools.length) return this.log(`No tool matches "${result.query}". \`twl tools list\` shows them all.`);
    this.log(table(['NAME', 'SCORE', 'SOURCE', 'TITLE'], result.tools.map((t) => [t.name, t.score.toFixed(2), t.source, t.title])));
  }
}
