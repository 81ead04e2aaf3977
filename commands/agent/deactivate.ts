import { agentArg, agentLine } from '../../src/cli/agents.js';
import { OpCommand } from '../../src/cli/base.js';
import type { OutputOf } from '../../src/ops/op.js';
import op from '../../src/ops/agent/deactivate.js';

export default class AgentDeactivate extends OpCommand<typeof op> {
  static override op = op;
  static override summary = 'Make an agent inactive: it runs no more until activated again.';
  static override description = op.description;
  static override examples = ['<%= config.bin %> <%= command.id %> checker', '<%= config.bin %> <%= command.id %> checker --json'];
  static override args = { name: agentArg };

  protected async input() {
    const { args } = await this.parse(AgentDeactivate);
    return { name: args.name };
  }

  protected render(r: OutputOf<typeof op>): void {
    this.log(`${agentLine(r.agent)}`);
  }
}
