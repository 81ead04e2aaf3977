import { OpCommand } from '../../src/cli/base.js';
import { table } from '../../src/cli/render.js';
import type { OutputOf } from '../../src/ops/op.js';
import op from '../../src/ops/workflow/list.js';
import { problemLine } from '../../src/workflows/validate.js';

export default class WorkflowList extends OpCommand<typeof op> {
  static override op = op;
  static override summary = 'List the workflows, and those left out with the reason.';
  static override description = op.description;
  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --json'];

  protected async input() {
    await this.parse(WorkflowList);
    return {};
  }

  protected render(r: OutputOf<typeof op>): void {
    if (r.workflows.length) this.log(table(['NAME', 'STEPS', 'ROLE', 'APPROVAL', 'TITLE'], r.workflows.map((w) => [w.name, w.steps.join(' → '), w.minRole, w.needsApproval ? 'asks' : '', w.title ?? ''])));
    else this.log('No workflows (workflows/*.yaml beside the configuration file, or workflows: in it; see docs/workflows.md).');
    for (const p of r.skipped) process.stderr.write(`Skipped: ${problemLine(p)}\n`);
  }
}
