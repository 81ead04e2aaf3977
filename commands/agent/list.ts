import { Flags } from '@oclif/core';
import { agentTable } from '../../src/cli/agents.js';
import { OpCommand } from '../../src/cli/base.js';
import type { OutputOf } from '../../src/ops/op.js';
import op from '../../src/ops/agent/list.js';
import { agentKinds, agentStatuses } from '../../src/studio/agents.js';

export default class AgentList extends OpCommand<typeof op> {
  static override op = op;
  static override summary = 'List agents: kind, parent, status, tools, model.';
  static override description = op.description;
  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --status active --kind worker', '<%= config.bin %> <%= command.id %> --json'];
  static override flags = {
    status: Flags.string({ description: 'Only these statuses (repeat).', options: [...agentStatuses], multiple: true }),
    kind: Flags.string({ description: 'Only these kinds (repeat).', options: [...agentKinds], multiple: true }),
  };

  protected async input() {
    const { flags } = await this.parse(AgentList);
    return { status: flags.status, kind: flags.kind };
  }

  protected render(r: OutputOf<typeof op>): void {
    if (!r.agents.length) return this.log('No agents. Create one with `twl agent create NAME --kind master`.');
    this.log(agentTable(r.agents));
  }
}
