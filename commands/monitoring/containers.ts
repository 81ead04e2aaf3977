import { Flags } from '@oclif/core';
import { OpCommand } from '../../src/cli/base.js';
import { table } from '../../src/cli/render.js';
import op from '../../src/ops/monitoring/containers.js';
import type { OutputOf } from '../../src/ops/op.js';

export default class MonitoringContainers extends OpCommand<typeof op> {
  static override op = op;
  static override summary = 'List Docker containers.';
  static override description = op.description;
  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --all --json'];
  static override flags = { all: Flags.boolean({ description: 'Include stopped containers.' }) };

  protected async input() {
    const { flags } = await this.parse(MonitoringContainers);
    return { all: flags.all };
  }

  protected render(r: OutputOf<typeof op>): void {
    if (!r.containers.length) return this.log(`No containers (engine at ${r.socket}).`);
    this.log(table(['id', 'name', 'image', 'state', 'status', 'ports'], r.containers.map((c) => [c.id, c.name, c.image, c.state, c.status, c.ports.join(', ')])));
  }
}
