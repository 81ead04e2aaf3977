import { Flags } from '@oclif/core';
import { OpCommand } from '../src/cli/base.js';
import op from '../src/ops/exec/run.js';
import type { OutputOf } from '../src/ops/op.js';
import { durationHint, parseDuration } from '../src/runtime/duration.js';
import { TwlError } from '../src/runtime/errors.js';

export default class Exec extends OpCommand<typeof op> {
  static override op = op;
  static override summary = 'Run a command under the commander policy, audited.';
  static override description = `${op.description}\n\nEverything after -- is the program and its arguments, passed as they are. The command's own stdout and stderr are printed; twl exits with its exit code.`;
  static override examples = [
    '<%= config.bin %> <%= command.id %> -- df -h',
    '<%= config.bin %> <%= command.id %> --dry-run -- systemctl restart nginx',
    '<%= config.bin %> <%= command.id %> --yes --timeout 2m -- systemctl restart nginx',
  ];
  static override strict = false;
  static override flags = {
    'dry-run': Flags.boolean({ description: 'Show what the policy decides; run nothing.' }),
    cwd: Flags.string({ description: 'Working directory (within commander.cwd).' }),
    timeout: Flags.string({ description: `Kill it after this long (${durationHint}); at most commander.timeout.` }),
  };

  protected async input() {
    const { flags, argv } = await this.parse(Exec);
    const command = (argv as string[]).filter((a, i) => !(i === 0 && a === '--'));
    if (!command.length) throw new TwlError('TWL_INPUT_INVALID', 'No command given.', { actions: ['Put the command after --, e.g. `twl exec -- df -h`.'] });
    let timeout: number | undefined;
    if (flags.timeout !== undefined) {
      timeout = parseDuration(flags.timeout);
      if (timeout === undefined || timeout < 1) throw new TwlError('TWL_INPUT_INVALID', `--timeout "${flags.timeout}" is not a duration: expected ${durationHint}.`);
    }
    return { command, cwd: flags.cwd, timeout_ms: timeout, dry_run: flags['dry-run'] };
  }

  override async run(): Promise<OutputOf<typeof op>> {
    const result = await super.run();
    if (result.outcome === 'timeout') process.exitCode = 5;
    else if (result.exitCode) process.exitCode = result.exitCode;
    return result;
  }

  protected render(r: OutputOf<typeof op>): void {
    if (r.outcome === 'dry-run') return this.log(`${r.decision}: ${r.reason} (${r.rule}); would run ${r.resolved} in ${r.cwd}`);
    if (r.stdout) process.stdout.write(r.stdout);
    if (r.stderr) process.stderr.write(r.stderr);
    const tail = r.outcome === 'timeout' ? `timed out after ${r.durationMs} ms; the process tree was killed` : `exit ${r.exitCode} in ${r.durationMs} ms`;
    process.stderr.write(`[${tail}${r.truncated ? '; output truncated' : ''}; ${r.rule}; audit #${r.auditId}]\n`);
  }
}
