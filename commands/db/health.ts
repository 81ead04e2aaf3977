import { OpCommand } from '../../src/cli/base.js';
import { targetFlag } from '../../src/cli/flags.js';
import { bytes } from '../../src/cli/render.js';
import op from '../../src/ops/db/health.js';
import type { OutputOf } from '../../src/ops/op.js';
import { ExitCode } from '../../src/runtime/errors.js';

export default class DbHealth extends OpCommand<typeof op> {
  static override op = op;
  static override summary = 'Check that a database answers: version, latency, size, connections.';
  static override description = `${op.description}\nExit code 0 when it answers, ${ExitCode.unavailable} when it does not (for cron and monitoring).`;
  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --target billing --json'];
  static override flags = { target: targetFlag };

  protected async input() {
    const { flags } = await this.parse(DbHealth);
    return { target: flags.target };
  }

  override async run(): Promise<OutputOf<typeof op>> {
    const result = await super.run();
    if (!result.reachable) process.exitCode = ExitCode.unavailable;
    return result;
  }

  protected render(r: OutputOf<typeof op>): void {
    if (!r.reachable) return this.log(`${r.target}: DOWN — ${r.error}`);
    this.log(`${r.target}: ok (${r.backend}) — ${r.latencyMs} ms`);
    this.log(`version      ${r.version}`);
    this.log(`database     ${r.database}, ${bytes(r.sizeBytes)}`);
    this.log(`connections  ${r.connections} of ${r.maxConnections}`);
  }
}
