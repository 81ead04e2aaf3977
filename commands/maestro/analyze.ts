import { Flags } from '@oclif/core';
import { OpCommand } from '../../src/cli/base.js';
import op from '../../src/ops/maestro/analyze.js';
import type { OutputOf } from '../../src/ops/op.js';

const line = (counts: Record<string, number>) =>
  Object.entries(counts)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ') || '—';

export default class MaestroAnalyze extends OpCommand<typeof op> {
  static override op = op;
  static override summary = 'Ticket statistics over a period.';
  static override description = op.description;
  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --since 7d --json'];
  static override flags = { since: Flags.string({ description: 'How far back (30d, 12h, 90).', default: '30d' }) };

  protected async input() {
    const { flags } = await this.parse(MaestroAnalyze);
    return { since: flags.since };
  }

  protected render(r: OutputOf<typeof op>): void {
    const ms = (v: number | null) => (v === null ? '—' : v < 120_000 ? `${Math.round(v / 1000)} s` : `${Math.round(v / 60_000)} min`);
    this.log(`${r.total} tickets from ${r.from.slice(0, 16)} to ${r.to.slice(0, 16)}`);
    this.log(`by category   ${line(r.byCategory)}`);
    this.log(`by priority   ${line(r.byPriority)}`);
    this.log(`by sentiment  ${line(r.bySentiment)}`);
    this.log(`by status     ${line(r.byStatus)}`);
    this.log(`escalated ${r.escalated} · marked for a human ${r.needsHuman}`);
    this.log(`time to resolve (${r.timeToResolve.resolved} resolved): mean ${ms(r.timeToResolve.meanMs)}, median ${ms(r.timeToResolve.p50Ms)}, p90 ${ms(r.timeToResolve.p90Ms)}`);
    const busy = r.perDay.filter((d) => d.created || d.resolved);
    if (busy.length) this.log(`per day: ${busy.map((d) => `${d.day.slice(5)} +${d.created}/✔${d.resolved}`).join('  ')}`);
  }
}
