import { OpCommand } from '../../src/cli/base.js';
import { table } from '../../src/cli/render.js';
import op from '../../src/ops/dash/activity.js';
import type { OutputOf } from '../../src/ops/op.js';

export default class DashActivity extends OpCommand<typeof op> {
  static override op = op;
  static override summary = "The team's op calls over the last 15 minutes, per tool group (the dashboard's activity panel).";
  static override description = op.description;
  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --json'];

  protected async input() {
    await this.parse(DashActivity);
    return {};
  }

  protected render(r: OutputOf<typeof op>): void {
    this.log(`${r.windowMinutes} minutes to ${r.at.slice(11, 19)}, every twl process\n`);
    this.log(table(['group', 'calls', 'errors', 'error rate', 'p95 ms', 'last minute'], [r.all, ...r.groups].map((g) => [g.group, g.calls, g.errors, `${(g.errorRate * 100).toFixed(1)}%`, g.p95Ms ?? '—', g.perMinute.at(-1) ?? 0])));
  }
}
