import { Args } from '@oclif/core';
import { OpCommand } from '../../src/cli/base.js';
import op from '../../src/ops/cache/delete.js';
import type { OutputOf } from '../../src/ops/op.js';

export default class CacheDelete extends OpCommand<typeof op> {
  static override op = op;
  static override summary = 'Delete a key.';
  static override description = op.description;
  static override examples = ['<%= config.bin %> <%= command.id %> greeting'];
  static override args = { key: Args.string({ description: 'The key to delete.', required: true }) };

  protected async input() {
    const { args } = await this.parse(CacheDelete);
    return { key: args.key };
  }

  protected render(result: OutputOf<typeof op>): void {
    this.log(result.deleted ? `deleted ${result.key}` : `${result.key} was not set`);
  }
}
