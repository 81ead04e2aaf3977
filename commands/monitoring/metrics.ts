import { Flags } from '@oclif/core';
import { OpCommand } from '../../src/cli/base.js';
import { bytes, table } from '../../src/cli/render.js';
import op from '../../src/ops/monitoring/metrics.js';
import type { OutputOf } from '../../src/ops/op.js';

export default class MonitoringMetrics extends OpCommand<typeof op> {
  static override op = op;
  static override summary = 'CPU, memory, disks, network and top processes.';
  static override description = op.description;
  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --top 5 --json'];
  static override flags = { top: Flags.integer({ description: 'How many top processes.', default: 10, min: 1, max: 100 }) };

  protected async input() {
    const { flags } = await this.parse(MonitoringMetrics);
    return { top: flags.top };
  }

  protected render(r: OutputOf<typeof op>): void {
    this.log(`${r.host} — up ${Math.round(r.uptimeSeconds / 3600)} h`);
    this.log(`cpu     ${r.cpu.usagePercent}% of ${r.cpu.cores} cores, load ${r.cpu.load.join(' ')}`);
    this.log(`memory  ${bytes(r.memory.usedBytes)} of ${bytes(r.memory.totalBytes)} (${r.memory.usedPercent}%)\n`);
    this.log(table(['mount', 'fs', 'size', 'used'], r.disks.map((d) => [d.mount, d.fs, bytes(d.sizeBytes), `${d.usedPercent}%`])));
    this.log(`\n${table(['pid', 'process', 'cpu %', 'mem %', 'user'], r.processes.map((p) => [p.pid, p.name, p.cpuPercent, p.memPercent, p.user]))}`);
  }
}
