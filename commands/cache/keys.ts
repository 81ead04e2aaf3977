import { Args, Flags } from '@oclif/core';
import { OpCommand } from '../../src/cli/base.js';
import op from '../../src/ops/cache/keys.js';
import type { OutputOf } from '../../src/ops/op.js';

export default class CacheKeys extends OpCommand<typeof op> {
  static override op = op;
  static override summary = 'List keys matching a pattern.';
  static override description = op.description;
  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> "session:*" --limit 20 --json'];
  static override args = { pattern: Args.string({ description: 'Glob pattern (* and ?).', default: '*' }) };
  static override flags = { limit: Flags.integer({ description: 'At most this many keys.', default: 100, min: 1, max: 10_000 }) };

  protected async input() {
    const { args, flags } = await this.parse(CacheKeys);
    return { pattern: args.pattern, limit: flags.limit };
  }

  protected render(result: OutputOf<typeof op>): void {
    for (const key of result.keys) this.log(key);
    if (result.truncated) this.note(`More keys match "${result.pattern}" than the limit of ${result.count}; raise --limit.`);
  }
}
