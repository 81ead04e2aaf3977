import { Args, Flags } from '@oclif/core';
import { OpCommand } from '../../src/cli/base.js';
import { readStdin } from '../../src/cli/io.js';
import op from '../../src/ops/maestro/generate.js';
import type { OutputOf } from '../../src/ops/op.js';

export default class MaestroGenerate extends OpCommand<typeof op> {
  static override op = op;
  static override summary = 'Generate text with the LLM (Ollama).';
  static override description = op.description;
  static override examples = ['<%= config.bin %> <%= command.id %> "Write a status-page note for a 20-minute VPN outage" --system "Be brief and factual."'];
  static override args = { prompt: Args.string({ description: 'The prompt; - reads it from stdin.', required: true }) };
  static override flags = { system: Flags.string({ description: 'A system prompt.' }) };

  protected async input() {
    const { args, flags } = await this.parse(MaestroGenerate);
    return { prompt: args.prompt === '-' ? await readStdin() : args.prompt, system: flags.system };
  }

  protected render(r: OutputOf<typeof op>): void {
    this.log(r.text);
  }
}
