import { Args } from '@oclif/core';
import { OpCommand } from '../../src/cli/base.js';
import { readStdin } from '../../src/cli/io.js';
import op from '../../src/ops/sentiment/analyze.js';
import type { OutputOf } from '../../src/ops/op.js';

export default class SentimentAnalyze extends OpCommand<typeof op> {
  static override op = op;
  static override summary = 'Read the tone and urgency of a text (French or English).';
  static override description = op.description;
  static override examples = [
    '<%= config.bin %> <%= command.id %> "This is great!"',
    '<%= config.bin %> <%= command.id %> "Pas content du tout, tout le monde est bloqué depuis 2h !!" --json',
  ];
  static override args = { text: Args.string({ description: 'The text; - reads it from stdin.', required: true }) };

  protected async input() {
    const { args } = await this.parse(SentimentAnalyze);
    return { text: args.text === '-' ? await readStdin() : args.text };
  }

  protected render(r: OutputOf<typeof op>): void {
    this.log(`${r.sentiment} (${r.confidence}), urgency ${r.urgency} (${r.urgencyConfidence})`);
    for (const s of r.signals) this.log(`  · ${s.type}: "${s.match}" → ${s.effect}`);
  }
}
