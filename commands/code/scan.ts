import { Args, Flags } from '@oclif/core';
import { formatFindings, formatSummary } from '../../src/agents/code-review/format.js';
import { OpCommand } from '../../src/cli/base.js';
import op from '../../src/ops/code/scan.js';
import type { OutputOf } from '../../src/ops/op.js';

export default class CodeScan extends OpCommand<typeof op> {
  static override op = op;
  static override summary = 'Scan code for secrets, dangerous calls and vulnerable npm dependencies.';
  static override description =
    `${op.description}\n\nWith --format sarif, stdout is the SARIF 2.1.0 log itself (upload it to a code-scanning tool); --json gives the usual envelope, with the log under result.sarif. ` +
    'Secrets are never printed in full. Exit code 0 when there is no error-level finding, 1 when there is.';
  static override examples = [
    '<%= config.bin %> <%= command.id %> .',
    '<%= config.bin %> <%= command.id %> src --no-audit',
    '<%= config.bin %> <%= command.id %> . --format sarif > twl.sarif',
    '<%= config.bin %> <%= command.id %> . --json',
  ];
  static override args = { path: Args.string({ description: 'A file or directory to scan.', required: true }) };
  static override flags = {
    format: Flags.string({ description: 'Output format: findings for people (json), or a SARIF 2.1.0 log (sarif).', options: ['json', 'sarif'], default: 'json' }),
    audit: Flags.boolean({ description: 'Run npm audit when the directory has a package-lock.json (--no-audit: skip it).', default: true, allowNo: true }),
  };

  protected async input() {
    const { args, flags } = await this.parse(CodeScan);
    return { path: args.path, audit: flags.audit, format: flags.format };
  }

  override async run(): Promise<OutputOf<typeof op>> {
    const result = await super.run();
    if (result.counts.error > 0) process.exitCode = 1;
    return result;
  }

  protected render(r: OutputOf<typeof op>): void {
    if (r.sarif) return this.log(JSON.stringify(r.sarif, null, 2));
    if (r.findings.length) this.log(`${formatFindings(r.findings)}\n`);
    const audit = r.audit.status === 'ran' ? ` npm audit (${r.audit.lockfile}): ${r.audit.vulnerabilities} vulnerable package${r.audit.vulnerabilities === 1 ? '' : 's'}.` : '';
    this.log(formatSummary(r) + audit);
    for (const note of r.notes.filter((n) => !this.warnings.includes(n))) process.stderr.write(`Note: ${note}\n`);
  }
}
