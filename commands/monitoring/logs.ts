import { Args, Flags } from '@oclif/core';
import { OpCommand } from '../../src/cli/base.js';
import op from '../../src/ops/monitoring/logs.js';
import type { OutputOf } from '../../src/ops/op.js';

export default class MonitoringLogs extends OpCommand<typeof op> {
  static override op = op;
  static override summary = 'Show the logs of a container.';
  static override description = op.description;
  static override examples = ['<%= config.bin %> <%= command.id %> web', '<%= config.bin %> <%= command.id %> web --tail 500 --since 10m --grep "error|timeout"'];
  static override args = { container: Args.string({ description: 'Container name or id.', required: true }) };
  static override flags = {
    tail: Flags.integer({ description: 'Last lines.', default: 100, min: 1, max: 10_000 }),
    since: Flags.string({ description: 'Only newer than this long ago (5m, 2h).' }),
    grep: Flags.string({ description: 'Only lines matching this regular expression.' }),
  };

  protected async input() {
    const { args, flags } = await this.parse(MonitoringLogs);
    return { container: args.container, tail: flags.tail, since: flags.since, grep: flags.grep };
  }

  protected render(r: OutputOf<typeof op>): void {
    for (const l of r.lines) (l.stream === 'stderr' ? process.stderr : process.stdout).write(`${l.line}\n`);
  }
}
