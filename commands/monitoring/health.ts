import { Flags } from '@oclif/core';
import { OpCommand } from '../../src/cli/base.js';
import { table } from '../../src/cli/render.js';
import op from '../../src/ops/monitoring/health.js';
import type { OutputOf } from '../../src/ops/op.js';
import { durationHint, parseDuration } from '../../src/runtime/duration.js';
import { ExitCode, TwlError } from '../../src/runtime/errors.js';

/** Down is 6 (unavailable), as in the exit-code table: 2 means bad input for every command. */
const exitFor = { ok: 0, degraded: 1, down: ExitCode.unavailable } as const;
const mark = { ok: '✔', degraded: '▲', down: '✖' } as const;

export default class MonitoringHealth extends OpCommand<typeof op> {
  static override op = op;
  static override summary = 'Check every configured service and twl\'s own dependencies.';
  static override description = `${op.description}\n\nExit code for cron: 0 all ok, 1 degraded, 6 down. --watch redraws in place until Ctrl-C (into a pipe, it appends one report after another).`;
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --service web --service api --json',
    '<%= config.bin %> <%= command.id %> --watch --interval 5s',
  ];
  static override flags = {
    service: Flags.string({ description: 'Only this service (repeat).', multiple: true }),
    watch: Flags.boolean({ description: 'Refresh in place until Ctrl-C.', exclusive: ['json'] }),
    interval: Flags.string({ description: `Refresh interval with --watch (${durationHint}).`, default: '5s' }),
  };

  protected async input() {
    const { flags } = await this.parse(MonitoringHealth);
    return { services: flags.service };
  }

  override async run(): Promise<OutputOf<typeof op>> {
    const { flags } = await this.parse(MonitoringHealth);
    if (!flags.watch) {
      const result = await super.run();
      process.exitCode = exitFor[result.status];
      return result;
    }
    const every = parseDuration(flags.interval);
    if (every === undefined || every < 500) throw new TwlError('TWL_INPUT_INVALID', `--interval "${flags.interval}" is not a duration of at least 500ms.`);
    let stop = false;
    process.once('SIGINT', () => (stop = true));
    let last: OutputOf<typeof op> | undefined;
    let first = true;
    while (!stop) {
      last = await this.execute();
      // Redraw in place on a terminal; into a pipe or a file, one report after the other.
      const clear = process.stdout.isTTY ? '\x1b[H\x1b[2J' : first ? '' : '\n';
      first = false;
      process.stdout.write(`${clear}${new Date().toLocaleTimeString()} — every ${flags.interval}, Ctrl-C to stop\n\n`);
      this.render(last);
      const until = Date.now() + every;
      while (!stop && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    }
    process.exitCode = last ? exitFor[last.status] : 0;
    return last!;
  }

  protected render(r: OutputOf<typeof op>): void {
    const rows = [...r.services, ...r.dependencies];
    if (!r.services.length) this.log('No services are configured (services in the configuration); checking twl\'s own dependencies.\n');
    this.log(table(['', 'name', 'kind', 'status', 'ms', 'detail'], rows.map((h) => [mark[h.status], h.name, h.kind, h.status, h.latencyMs ?? '', h.detail])));
    this.log(`\noverall: ${r.status}`);
  }
}
