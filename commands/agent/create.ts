import { Flags } from '@oclif/core';
import { agentArg, agentFlags, agentInput, agentLine } from '../../src/cli/agents.js';
import { OpCommand } from '../../src/cli/base.js';
import type { OutputOf } from '../../src/ops/op.js';
import op from '../../src/ops/agent/create.js';
import { agentKinds } from '../../src/studio/agents.js';

export default class AgentCreate extends OpCommand<typeof op> {
  static override op = op;
  static override summary = 'Create an agent: a master, supervisor or worker, with its tools and instructions.';
  static override description = `${op.description}\n\nSee docs/agents.md.`;
  static override examples = [
    '<%= config.bin %> <%= command.id %> ops-lead --kind master --instructions "Route incidents to the right team."',
    '<%= config.bin %> <%= command.id %> infra --kind supervisor --parent ops-lead',
    '<%= config.bin %> <%= command.id %> checker --kind worker --parent infra --tools "monitoring_*" --tools database_db_health --model llama3.1:8b',
    '<%= config.bin %> <%= command.id %> nightly --kind worker --parent infra --tools "monitoring_*" --steps monitoring_health_check,monitoring_get_system_metrics --json',
  ];
  static override args = { name: agentArg };
  static override flags = { kind: Flags.string({ description: 'master, supervisor or worker.', options: [...agentKinds], required: true }), ...agentFlags };

  protected async input() {
    const { args, flags } = await this.parse(AgentCreate);
    return agentInput(args.name, flags);
  }

  protected render(r: OutputOf<typeof op>): void {
    this.log(agentLine(r.agent));
  }
}
