import { readFileSync } from 'node:fs';
import type { TriageModel } from './artifact.js';
import { dataDirectory, handwrittenFiles, parseCorpus } from './engine.js';
import { findSignals } from './signals.js';
import type { LabelledTicket } from './taxonomy.js';

/**
 * The labelled tickets nearest to a text, for an LLM's few-shot prompt: cosine similarity of
 * the model's feature vectors weighted by rarity (idf: "vpn" says more than "personne"), over
 * the hand-written corpus only (real wording, not templates), through an inverted index.
 */
export class ExampleIndex {
  private readonly postings = new Map<number, number[]>();
  /** Each ticket's vector norm (square root of its summed squared idf). */
  private readonly norms: number[] = [];

  constructor(
    private readonly model: TriageModel,
    readonly tickets: LabelledTicket[],
  ) {
    const vectors = tickets.map((t) => model.vectorize(t.text, findSignals(t.text)));
    vectors.forEach((vector, i) => {
      for (const f of vector) {
        const list = this.postings.get(f);
        if (list) list.push(i);
        else this.postings.set(f, [i]);
      }
    });
    for (const vector of vectors) this.norms.push(Math.sqrt(vector.reduce((sum, f) => sum + this.idf(f) ** 2, 0)));
  }

  private idf(feature: number): number {
    return Math.log((this.tickets.length + 1) / ((this.postings.get(feature)?.length ?? 0) + 1));
  }

  static handwritten(model: TriageModel): ExampleIndex {
    const tickets = handwrittenFiles.flatMap((file) => parseCorpus(readFileSync(new URL(file, dataDirectory), 'utf8'), file));
    return new ExampleIndex(model, tickets);
  }

  /** Up to n tickets, most similar first; at most two per category so the prompt shows contrasts. */
  nearest(text: string, n: number): LabelledTicket[] {
    const vector = this.model.vectorize(text, findSignals(text));
    const shared = new Map<number, number>();
    let norm = 0;
    for (const f of vector) {
      const weight = this.idf(f) ** 2;
      norm += weight;
      for (const i of this.postings.get(f) ?? []) shared.set(i, (shared.get(i) ?? 0) + weight);
    }
    const ranked = [...shared].map(([i, dot]) => [i, dot / (Math.sqrt(norm) * this.norms[i]! || 1)] as const).sort((a, b) => b[1] - a[1] || a[0] - b[0]);
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
