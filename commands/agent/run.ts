import { Args, Flags } from '@oclif/core';
import { agentArg, stepTable } from '../../src/cli/agents.js';
import { OpCommand } from '../../src/cli/base.js';
import type { OutputOf } from '../../src/ops/op.js';
import op from '../../src/ops/agent/run.js';

export default class AgentRun extends OpCommand<typeof op> {
  static override op = op;
  static override summary = 'Run an agent on a prompt: its tools, its children as delegates, every step recorded.';
  static override description = op.description;
  static override examples = [
    '<%= config.bin %> <%= command.id %> ops-lead "Is the database healthy? Check and report."',
    '<%= config.bin %> <%= command.id %> checker "Check the web service" --max-steps 5 --json',
    '<%= config.bin %> <%= command.id %> fixer "Clear the stale cache keys" --yes',
  ];
  static override args = { name: agentArg, prompt: Args.string({ description: 'What the agent should do.', required: true }) };
  static override flags = { 'max-steps': Flags.integer({ description: 'Tool calls per agent run at most (default 10).', min: 1, max: 100 }) };

  protected async input() {
    const { args, flags } = await this.parse(AgentRun);
    return { name: args.name, prompt: args.prompt, maxSteps: flags['max-steps'] };
  }

  protected render(r: OutputOf<typeof op>): void {
    this.log(stepTable(r.steps));
    this.log('');
    this.log(`run #${r.run.id} of ${r.run.agent} ${r.run.status}${r.run.mode === 'steps' ? ' (declared steps, without an LLM)' : ''}:`);
    this.log(r.run.output ?? r.run.error ?? '');
  }
}
