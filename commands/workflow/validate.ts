import { Args } from '@oclif/core';
import { OpCommand } from '../../src/cli/base.js';
import type { OutputOf } from '../../src/ops/op.js';
import op from '../../src/ops/workflow/validate.js';

export default class WorkflowValidate extends OpCommand<typeof op> {
  static override op = op;
  static override summary = 'Check the workflows (or one file): each problem names the file, the step and what is wrong.';
  static override description = op.description;
  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> workflows/incident-fanout.yaml', '<%= config.bin %> <%= command.id %> --json'];
  static override args = { file: Args.string({ description: 'Only this workflow YAML file.' }) };

  protected async input() {
    const { args } = await this.parse(WorkflowValidate);
    return args.file ? { file: args.file } : {};
  }

  protected render(r: OutputOf<typeof op>): void {
    if (!r.valid.length) return this.log('No workflows found (workflows/*.yaml beside the configuration file, or workflows: in it).');
    for (const w of r.valid) this.log(`✔ ${w.name} (${w.steps} step${w.steps === 1 ? '' : 's'}, tool ${w.tool}) — ${w.file}`);
  }
}
