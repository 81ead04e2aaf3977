import { Args } from '@oclif/core';
import { OpCommand } from '../../src/cli/base.js';
import op from '../../src/ops/cache/get.js';
import type { OutputOf } from '../../src/ops/op.js';
import { ExitCode } from '../../src/runtime/errors.js';

export default class CacheGet extends OpCommand<typeof op> {
  static override op = op;
  static override summary = 'Print the value stored under a key.';
  static override description = `${op.description}\nThe value goes to stdout as it is; a miss prints nothing on stdout, notes it on stderr and exits with 7 (not found), so scripts can tell an empty value from no value.`;
  static override examples = ['<%= config.bin %> <%= command.id %> greeting', '<%= config.bin %> <%= command.id %> greeting --json'];
  static override args = { key: Args.string({ description: 'The key to read.', required: true }) };

  protected async input() {
    const { args } = await this.parse(CacheGet);
    return { key: args.key };
  }

  override async run(): Promise<OutputOf<typeof op>> {
    const result = await super.run();
    if (!result.found) process.exitCode = ExitCode.notFound;
    return result;
  }

  protected render(result: OutputOf<typeof op>): void {
    if (result.found) this.log(result.value ?? '');
    else process.stderr.write(`(not found) ${result.key}\n`);
  }
}
