import { Flags } from '@oclif/core';
import { agentArg, agentFlags, agentInput, agentLine } from '../../src/cli/agents.js';
import { OpCommand } from '../../src/cli/base.js';
import type { OutputOf } from '../../src/ops/op.js';
import op from '../../src/ops/agent/edit.js';
import { agentKinds } from '../../src/studio/agents.js';

export default class AgentEdit extends OpCommand<typeof op> {
  static override op = op;
  static override summary = 'Change an agent: kind, parent, instructions, tools, model, pre-approved tools, steps.';
  static override description = op.description;
  static override examples = [
    '<%= config.bin %> <%= command.id %> checker --tools "monitoring_*" --tools "database_*"',
    '<%= config.bin %> <%= command.id %> checker --parent other-supervisor --json',
    '<%= config.bin %> <%= command.id %> fixer --preapprove cache_cache_delete --instructions @fixer.md',
  ];
  static override args = { name: agentArg };
  static override flags = {
    kind: Flags.string({ description: 'master, supervisor or worker.', options: [...agentKinds] }),
    ...agentFlags,
    'no-model': Flags.boolean({ description: 'Use llm.model again.', exclusive: ['model'] }),
    'no-steps': Flags.boolean({ description: 'Remove its declared steps.', exclusive: ['steps'] }),
  };

  protected async input() {
    const { args, flags } = await this.parse(AgentEdit);
    return agentInput(args.name, flags);
  }

  protected render(r: OutputOf<typeof op>): void {
    this.log(agentLine(r.agent));
  }
}
