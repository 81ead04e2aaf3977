import { Args } from '@oclif/core';
import { OpCommand } from '../../src/cli/base.js';
import op from '../../src/ops/upstream/accept.js';
import type { OutputOf } from '../../src/ops/op.js';

export default class UpstreamAccept extends OpCommand<typeof op> {
  static override op = op;
  static override summary = 'Accept a quarantined upstream\'s changed tool definitions, so its tools are served again.';
  static override description = op.description;
  static override examples = ['<%= config.bin %> <%= command.id %> memory', '<%= config.bin %> <%= command.id %> memory --json'];
  static override args = { name: Args.string({ description: 'The quarantined upstream.', required: true }) };

  protected async input() {
    const { args } = await this.parse(UpstreamAccept);
    return { name: args.name };
  }

  protected render(r: OutputOf<typeof op>): void {
    const what = [r.accepted.added.length ? `added ${r.accepted.added.join(', ')}` : '', r.accepted.removed.length ? `removed ${r.accepted.removed.join(', ')}` : '', r.accepted.changed.length ? `changed ${r.accepted.changed.join(', ')}` : ''].filter(Boolean).join('; ');
    this.log(`Accepted upstream ${r.name}'s tool definitions (${what || 'no tool-level change'}); ${r.tools} tools pinned. A running \`twl serve\` serves them again within seconds.`);
  }
}
