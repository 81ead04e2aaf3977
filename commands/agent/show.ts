import { Flags } from '@oclif/core';
import { agentArg, agentDetail } from '../../src/cli/agents.js';
import { OpCommand } from '../../src/cli/base.js';
import type { OutputOf } from '../../src/ops/op.js';
import op from '../../src/ops/agent/show.js';

export default class AgentShow extends OpCommand<typeof op> {
  static override op = op;
  static override summary = 'Show an agent: status and why, what it may become next, whom it leads, its latest runs.';
  static override description = op.description;
  static override examples = ['<%= config.bin %> <%= command.id %> checker', '<%= config.bin %> <%= command.id %> checker --runs 50 --json'];
  static override args = { name: agentArg };
  static override flags = { runs: Flags.integer({ description: 'How many of its latest runs to show.', default: 10, min: 0, max: 100 }) };

  protected async input() {
    const { args, flags } = await this.parse(AgentShow);
    return { name: args.name, runs: flags.runs };
  }

  protected render(r: OutputOf<typeof op>): void {
    this.log(agentDetail(r.agent, r.next, r.children, r.runs));
  }
}
