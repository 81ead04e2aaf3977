import { OpCommand } from '../../src/cli/base.js';
import { table } from '../../src/cli/render.js';
import op from '../../src/ops/maestro/agents.js';
import type { OutputOf } from '../../src/ops/op.js';

export default class MaestroAgents extends OpCommand<typeof op> {
  static override op = op;
  static override summary = 'List the agents, their tools and status.';
  static override description = op.description;
  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --json'];

  protected async input() {
    await this.parse(MaestroAgents);
    return {};
  }

  protected render(r: OutputOf<typeof op>): void {
    this.log(`LLM: ${r.llm.detail}\n`);
    this.log(table(['agent', 'status', 'tools', 'capabilities'], r.agents.map((a) => [a.name, a.status, a.tools.length, a.capabilities])));
  }
}
