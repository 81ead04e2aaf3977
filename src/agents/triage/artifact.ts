import { readFileSync } from 'node:fs';
import { logits, softmax, type LinearWeights } from './linear.js';
import type { Signal } from './signals.js';
import { categories, priorities, sentiments, urgencies } from './taxonomy.js';
import { eachFeature } from './vectorize.js';

/** The four things triage predicts, each a linear model over the same features. */
export const heads = { category: categories, priority: priorities, sentiment: sentiments, urgency: urgencies } as const;
export type Head = keyof typeof heads;

/**
 * The shipped model (data/model.json, written by `npm run train`): the feature vocabulary and,
 * per head, int8 weights with their scale (base64), biases and the calibration temperature.
 * About a megabyte; loading it is a JSON parse and a Map of the vocabulary.
 */
export interface ModelArtifact {
  version: 1;
  corpus: { tickets: number; sha256: string; files: string[] };
  features: string[];
  /** The first `dense` features are signals (see LinearWeights.dense). */
  dense: number;
  heads: Record<Head, { labels: string[]; temperature: number; scale: number; bias: number[]; weights: string }>;
}

export interface HeadModel extends LinearWeights {
  labels: readonly string[];
  temperature: number;
}

export class TriageModel {
  readonly index: Map<string, number>;
  /** Per feature, the last `vectorize` call that saw it (de-duplication without a Set per ticket). */
  private readonly seen: Int32Array;
  private call = 0;

  constructor(
    readonly features: string[],
    readonly heads: Record<Head, HeadModel>,
    readonly trainedOn: number,
  ) {
    this.index = new Map(features.map((f, i) => [f, i]));
    this.seen = new Int32Array(features.length);
  }

  /** The known features of a text, as indices, each once. */
  vectorize(text: string, signals: Signal[], folded?: string): Int32Array {
    const call = (this.call = (this.call + 1) | 0 || 1);
    const out: number[] = [];
    eachFeature(text, signals, (f) => {
      const i = this.index.get(f);
      if (i !== undefined && this.seen[i] !== call) {
        this.seen[i] = call;
        out.push(i);
      }
    }, folded);
    return Int32Array.from(out);
  }

  /** Indices of the known features among these strings. */
  vector(strings: string[]): Int32Array {
    const out: number[] = [];
    for (const s of strings) {
      const i = this.index.get(s);
      if (i !== undefined) out.push(i);
    }
    return Int32Array.from(out);
  }

  /** Calibrated probabilities per label, highest first. */
  predict<H extends Head>(head: H, vector: Int32Array): Array<[(typeof heads)[H][number], number]> {
    const model = this.heads[head];
    const p = softmax(logits(model, vector), model.temperature);
    return model.labels.map((label, c) => [label, p[c]!] as [(typeof heads)[H][number], number]).sort((a, b) => b[1] - a[1]);
  }

  /** The features that pushed `label` up the most against the other labels, strongest first. */
  strongest(head: Head, vector: Int32Array, label: string, n: number, keep: (feature: string) => boolean): string[] {
    const { k, weights, labels } = this.heads[head];
    const c = labels.indexOf(label);
    const scored: Array<[string, number]> = [];
    for (const f of vector) {
      const feature = this.features[f]!;
      if (!keep(feature)) continue;
      let mean = 0;
      for (let j = 0; j < k; j++) mean += weights[f * k + j]!;
      const lift = weights[f * k + c]! - mean / k;
      if (lift > 0) scored.push([feature, lift]);
    }
    return scored.sort((a, b) => b[1] - a[1]).slice(0, n).map(([f]) => f);
  }

  toArtifact(corpus: ModelArtifact['corpus']): ModelArtifact {
    const out = {} as ModelArtifact['heads'];
    for (const [name, head] of Object.entries(this.heads) as Array<[Head, HeadModel]>) {
      let max = 0;
      for (const w of head.weights) max = Math.max(max, Math.abs(w));
      const scale = max / 127 || 1;
      const q = Int8Array.from(head.weights, (w) => Math.round(w / scale));
      out[name] = { labels: [...head.labels], temperature: head.temperature, scale, bias: Array.from(head.bias, (b) => Math.round(b * 1e4) / 1e4), weights: Buffer.from(q.buffer).toString('base64') };
    }
    return { version: 1, corpus, features: this.features, dense: this.heads.category.dense, heads: out };
  }

  static fromArtifact(artifact: ModelArtifact): TriageModel {
    const loaded = {} as Record<Head, HeadModel>;
    for (const name of Object.keys(heads) as Head[]) {
      const head = artifact.heads[name];
      if (!head || head.labels.join() !== heads[name].join()) throw new Error(`the triage model's ${name} labels do not match the taxonomy: run npm run train`);
      const bytes = Buffer.from(head.weights, 'base64');
      const q = new Int8Array(bytes.buffer, bytes.byteOffset, bytes.length);
      loaded[name] = { labels: heads[name], k: head.labels.length, dense: artifact.dense, temperature: head.temperature, bias: Float32Array.from(head.bias), weights: Float32Array.from(q, (v) => v * head.scale) };
    }
    return new TriageModel(artifact.features, loaded, artifact.corpus.tickets);
  }

  static load(path: URL | string): TriageModel {
    return TriageModel.fromArtifact(JSON.parse(readFileSync(path, 'utf8')) as ModelArtifact);
  }
}
