import { agentArg, agentLine } from '../../src/cli/agents.js';
import { OpCommand } from '../../src/cli/base.js';
import type { OutputOf } from '../../src/ops/op.js';
import op from '../../src/ops/agent/delete.js';

export default class AgentDelete extends OpCommand<typeof op> {
  static override op = op;
  static override summary = 'Delete an agent (refused while it leads others or is busy).';
  static override description = op.description;
  static override examples = ['<%= config.bin %> <%= command.id %> checker', '<%= config.bin %> <%= command.id %> checker --json'];
  static override args = { name: agentArg };

  protected async input() {
    const { args } = await this.parse(AgentDelete);
    return { name: args.name };
  }

  protected render(r: OutputOf<typeof op>): void {
    this.log(`deleted ${agentLine(r.agent)}`);
  }
}
