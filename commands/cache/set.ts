import { Args, Flags } from '@oclif/core';
import { OpCommand } from '../../src/cli/base.js';
import { readStdin } from '../../src/cli/io.js';
import op from '../../src/ops/cache/set.js';
import type { OutputOf } from '../../src/ops/op.js';
import { durationHint, parseDuration } from '../../src/runtime/duration.js';
import { TwlError } from '../../src/runtime/errors.js';

export default class CacheSet extends OpCommand<typeof op> {
  static override op = op;
  static override summary = 'Store a value under a key, optionally with a time to live.';
  static override description = op.description;
  static override examples = [
    '<%= config.bin %> <%= command.id %> greeting hello --ttl 60',
    '<%= config.bin %> <%= command.id %> deploy:lock alice --ttl 15m --json',
    'echo "$PAYLOAD" | <%= config.bin %> <%= command.id %> report -',
  ];
  static override args = {
    key: Args.string({ description: 'The key to write.', required: true }),
    value: Args.string({ description: 'The value; - reads it from stdin.', required: true }),
  };
  static override flags = {
    ttl: Flags.string({ description: `Time to live: ${durationHint}. Default: never expires.` }),
  };

  protected async input() {
    const { args, flags } = await this.parse(CacheSet);
    let ttl: number | undefined;
    if (flags.ttl !== undefined) {
      const ms = parseDuration(flags.ttl);
      if (ms === undefined || ms < 1000) throw new TwlError('TWL_INPUT_INVALID', `--ttl "${flags.ttl}" is not a time to live: expected ${durationHint}, of at least 1 second.`);
      ttl = Math.ceil(ms / 1000);
    }
    const value = args.value === '-' ? await readStdin() : args.value;
    return { key: args.key, value, ttl };
  }

  protected render(result: OutputOf<typeof op>): void {
    this.log(`stored ${result.key}${result.expiresAt ? ` (expires ${result.expiresAt})` : ''}`);
  }
}
