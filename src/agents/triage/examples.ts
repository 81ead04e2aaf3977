import { readFileSync } from 'node:fs';
import type { TriageModel } from './artifact.js';
import { dataDirectory, parseCorpus } from './engine.js';
import { findSignals } from './signals.js';
import type { LabelledTicket } from './taxonomy.js';

/**
 * The labelled tickets nearest to a text, for an LLM's few-shot prompt: cosine similarity of
 * the model's binary feature vectors, over the hand-written corpus only (real wording, not
 * templates), through an inverted index built on first use.
 */
export class ExampleIndex {
  private readonly postings = new Map<number, number[]>();
  private readonly sizes: number[] = [];

  constructor(
    private readonly model: TriageModel,
    readonly tickets: LabelledTicket[],
  ) {
    tickets.forEach((t, i) => {
      const vector = model.vectorize(t.text, findSignals(t.text));
      this.sizes.push(vector.length);
      for (const f of vector) {
        const list = this.postings.get(f);
        if (list) list.push(i);
        else this.postings.set(f, [i]);
      }
    });
  }

  static handwritten(model: TriageModel): ExampleIndex {
    const tickets = ['training.jsonl', 'handwritten.jsonl'].flatMap((file) => parseCorpus(readFileSync(new URL(file, dataDirectory), 'utf8'), file));
    return new ExampleIndex(model, tickets);
  }

  /** Up to n tickets, most similar first; at most two per category so the prompt shows contrasts. */
  nearest(text: string, n: number): LabelledTicket[] {
    const vector = this.model.vectorize(text, findSignals(text));
    const shared = new Map<number, number>();
    for (const f of vector) for (const i of this.postings.get(f) ?? []) shared.set(i, (shared.get(i) ?? 0) + 1);
    const ranked = [...shared].map(([i, common]) => [i, common / Math.sqrt(this.sizes[i]! * vector.length)] as const).sort((a, b) => b[1] - a[1] || a[0] - b[0]);
    const perCategory = new Map<string, number>();
    const out: LabelledTicket[] = [];
    for (const [i] of ranked) {
      const t = this.tickets[i]!;
      const seen = perCategory.get(t.category) ?? 0;
      if (seen >= 2) continue;
      perCategory.set(t.category, seen + 1);
      out.push(t);
      if (out.length === n) break;
    }
    return out;
  }
}
