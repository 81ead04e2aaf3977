import { Args } from '@oclif/core';
import { OpCommand } from '../../src/cli/base.js';
import type { OutputOf } from '../../src/ops/op.js';
import op from '../../src/ops/workflow/show.js';
import { TwlError } from '../../src/runtime/errors.js';

const brief = (v: unknown): string => {
  if (v === null || v === undefined) return '';
  const text = typeof v === 'string' ? v : JSON.stringify(v);
  return text.length > 160 ? `${text.slice(0, 159)}…` : text;
};

export default class WorkflowShow extends OpCommand<typeof op> {
  static override op = op;
  static override summary = 'Show a workflow run: every step with its input, output, decision, status and duration.';
  static override description = op.description;
  static override examples = ['<%= config.bin %> <%= command.id %> 42', '<%= config.bin %> <%= command.id %> 42 --json'];
  static override args = { run: Args.string({ description: 'The run id (`twl workflow runs`).', required: true }) };

  protected async input() {
    const { args } = await this.parse(WorkflowShow);
    if (!/^[1-9]\d{0,15}$/.test(args.run)) throw new TwlError('TWL_INPUT_INVALID', `Expected a run id (a positive number), got ${JSON.stringify(args.run.slice(0, 40))}.`, { actions: ['List the runs with `twl workflow runs`.'] });
    return { run: Number(args.run) };
  }

  protected render({ run, steps }: OutputOf<typeof op>): void {
    this.log(`Run ${run.id} of ${run.workflow}: ${run.status}${run.step ? ` at ${run.step}` : ''} — by ${run.actor} (${run.face}), ${run.startedAt}${run.durationMs !== null ? `, ${Math.round(run.durationMs)} ms` : ''}`);
    if (run.error) this.log(`  ${run.error.code}: ${run.error.message}`);
    this.log(`  input: ${brief(run.input)}`);
    for (const s of steps) {
      const depth = s.path.split('/').length - 1;
      const pad = '  '.repeat(depth + 1);
      this.log(`${pad}${s.path} [${s.kind}] ${s.status}${s.durationMs !== null ? ` ${Math.round(s.durationMs)} ms` : ''}`);
      if (s.input !== null) this.log(`${pad}  input:    ${brief(s.input)}`);
      if (s.decision) this.log(`${pad}  decision: ${s.decision.decision}${s.decision.detail !== undefined ? ` ${brief(s.decision.detail)}` : ''}`);
      if (s.output !== null) this.log(`${pad}  output:   ${brief(s.output)}`);
      if (s.error) this.log(`${pad}  error:    ${s.error.code}: ${s.error.message}`);
    }
    this.log(`  output: ${brief(run.output)}`);
  }
}
