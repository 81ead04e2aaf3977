import { OpCommand } from '../../src/cli/base.js';
import { bytes, table } from '../../src/cli/render.js';
import op from '../../src/ops/llm/models.js';
import type { OutputOf } from '../../src/ops/op.js';

export default class LlmModels extends OpCommand<typeof op> {
  static override op = op;
  static override summary = 'List the models installed on Ollama.';
  static override description = op.description;
  static override examples = ['<%= config.bin %> <%= command.id %>'];

  protected async input() {
    await this.parse(LlmModels);
    return {};
  }

  protected render(r: OutputOf<typeof op>): void {
    this.log(table(['model', 'size', 'family', 'parameters', 'quantization'], r.models.map((m) => [m.name, bytes(m.sizeBytes), m.family, m.parameters, m.quantization])));
  }
}
