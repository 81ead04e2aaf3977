import { Args, Flags } from '@oclif/core';
import { formatFindings, formatSummary } from '../../src/agents/code-review/format.js';
import { OpCommand } from '../../src/cli/base.js';
import { readStdin } from '../../src/cli/io.js';
import op from '../../src/ops/code/review.js';
import type { OutputOf } from '../../src/ops/op.js';

export default class CodeReview extends OpCommand<typeof op> {
  static override op = op;
  static override summary = 'Review code: complexity, long functions, unreachable code, TODOs, risky patterns, secrets.';
  static override description =
    `${op.description}\n\nFindings print as file:line:column  severity  rule  message, grouped by file; - reads the code from stdin (--filename sets its language). ` +
    'Exit code 0 when there is no error-level finding, 1 when there is.';
  static override examples = [
    '<%= config.bin %> <%= command.id %> src',
    '<%= config.bin %> <%= command.id %> src/server.ts --no-llm --max-findings 50',
    'cat app.js | <%= config.bin %> <%= command.id %> - --filename app.js --json',
  ];
  static override args = { path: Args.string({ description: 'A file or directory; - reads the code from stdin.', required: true }) };
  static override flags = {
    filename: Flags.string({ description: 'With -: the file name of the code on stdin, which sets its language.', default: 'stdin.ts' }),
    'max-findings': Flags.integer({ description: 'Show at most this many findings, the most severe first.', default: 500, min: 1, max: 10_000 }),
    llm: Flags.boolean({ description: 'Add an LLM review when an LLM is configured (--no-llm: static checks only).', default: true, allowNo: true }),
  };

  protected async input() {
    const { args, flags } = await this.parse(CodeReview);
    const source = args.path === '-' ? { code: await readStdin(), filename: flags.filename } : { path: args.path };
    return { ...source, max_findings: flags['max-findings'], llm: flags.llm };
  }

  override async run(): Promise<OutputOf<typeof op>> {
    const result = await super.run();
    if (result.counts.error > 0) process.exitCode = 1;
    return result;
  }

  protected render(r: OutputOf<typeof op>): void {
    if (r.findings.length) this.log(`${formatFindings(r.findings)}\n`);
    this.log(formatSummary(r) + (r.llm.status === 'used' ? ` LLM review by ${r.llm.model}: ${r.llm.findings} finding${r.llm.findings === 1 ? '' : 's'} in ${r.llm.filesReviewed} file${r.llm.filesReviewed === 1 ? '' : 's'}.` : ''));
    for (const note of r.notes.filter((n) => !this.warnings.includes(n))) process.stderr.write(`Note: ${note}\n`);
  }
}
