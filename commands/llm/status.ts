import { OpCommand } from '../../src/cli/base.js';
import op from '../../src/ops/llm/status.js';
import type { OutputOf } from '../../src/ops/op.js';
import { ExitCode } from '../../src/runtime/errors.js';

export default class LlmStatus extends OpCommand<typeof op> {
  static override op = op;
  static override summary = 'Is the LLM (Ollama) reachable, with which models?';
  static override description = `${op.description}\nExit code ${ExitCode.unavailable} when one is configured but does not answer.`;
  static override examples = ['<%= config.bin %> <%= command.id %>', 'TWL_LLM_HOST=http://127.0.0.1:11434 <%= config.bin %> <%= command.id %> --json'];

  protected async input() {
    await this.parse(LlmStatus);
    return {};
  }

  override async run(): Promise<OutputOf<typeof op>> {
    const r = await super.run();
    if (r.configured && !r.reachable) process.exitCode = ExitCode.unavailable;
    return r;
  }

  protected render(r: OutputOf<typeof op>): void {
    this.log(r.detail);
    if (r.loaded.length) this.log(`loaded: ${r.loaded.join(', ')}`);
  }
}
