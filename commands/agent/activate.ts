import { agentArg, agentLine } from '../../src/cli/agents.js';
import { OpCommand } from '../../src/cli/base.js';
import type { OutputOf } from '../../src/ops/op.js';
import op from '../../src/ops/agent/activate.js';

export default class AgentActivate extends OpCommand<typeof op> {
  static override op = op;
  static override summary = 'Check an agent (its tools in the catalog, its model on the LLM server) and make it active.';
  static override description = op.description;
  static override examples = ['<%= config.bin %> <%= command.id %> checker', '<%= config.bin %> <%= command.id %> checker --json'];
  static override args = { name: agentArg };

  protected async input() {
    const { args } = await this.parse(AgentActivate);
    return { name: args.name };
  }

  protected render(r: OutputOf<typeof op>): void {
    this.log(`${agentLine(r.agent)}`);
  }
}
