import { Args } from '@oclif/core';
import { OpCommand } from '../../src/cli/base.js';
import { readStdin } from '../../src/cli/io.js';
import op from '../../src/ops/maestro/chat.js';
import type { OutputOf } from '../../src/ops/op.js';

export default class MaestroChat extends OpCommand<typeof op> {
  static override op = op;
  static override summary = 'Ask the LLM (Ollama) a question.';
  static override description = op.description;
  static override examples = ['<%= config.bin %> <%= command.id %> "How do I find what holds a lock in PostgreSQL?"'];
  static override args = { message: Args.string({ description: 'The message; - reads it from stdin.', required: true }) };

  protected async input() {
    const { args } = await this.parse(MaestroChat);
    return { message: args.message === '-' ? await readStdin() : args.message };
  }

  protected render(r: OutputOf<typeof op>): void {
    this.log(r.reply);
  }
}
