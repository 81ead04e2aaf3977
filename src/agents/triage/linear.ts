/**
 * Multinomial logistic regression over sparse binary features, trained with AdaGrad and an
 * L2 penalty; probabilities are calibrated by a temperature fitted on held-apart predictions.
 *
 * Why not a library: the npm ones (ml-logistic-regression, ml-svm, libsvm-js) train on dense
 * matrices; tens of thousands of n-gram features times thousands of tickets would not fit
 * densely, and none computes sparse dot products at the 5,000 tickets/s the CLI needs. The
 * trainer is ~60 lines, deterministic (seeded order), and tested against a numeric gradient.
 */

export interface Sample {
  /** Indices of the features present (each once). */
  features: Int32Array;
  label: number;
}

export interface TrainOptions {
  epochs: number;
  /** L2 penalty per sample step. */
  l2: number;
  /** AdaGrad base rate. */
  rate: number;
  seed: number;
}

export const defaultTrainOptions: TrainOptions = { epochs: 12, l2: 1e-5, rate: 0.1, seed: 7 };

/** Weights: feature-major (`w[f * k + c]`), plus one bias per class. */
export interface LinearWeights {
  k: number;
  /**
   * Features below this index are signals (present or not, value 1); the others are n-grams,
   * valued 1/√(number of n-grams) so a long ticket does not outweigh a short one.
   */
  dense: number;
  weights: Float32Array;
  bias: Float32Array;
}

function shuffle(n: number, seed: number): Int32Array {
  const order = Int32Array.from({ length: n }, (_, i) => i);
  let s = seed >>> 0;
  for (let i = n - 1; i > 0; i--) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const j = s % (i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
}

/** The value of each n-gram feature in a sample (see `LinearWeights.dense`). */
export function ngramValue(model: LinearWeights, features: ArrayLike<number>): number {
  let ngrams = 0;
  for (let i = 0; i < features.length; i++) if (features[i]! >= model.dense) ngrams++;
  return ngrams ? 1 / Math.sqrt(ngrams) : 0;
}

/** Class scores (logits) of one sample. */
export function logits(model: LinearWeights, features: ArrayLike<number>, out = new Float64Array(model.k)): Float64Array {
  const { k, weights, bias, dense } = model;
  const scale = ngramValue(model, features);
  for (let c = 0; c < k; c++) out[c] = bias[c]!;
  for (let i = 0; i < features.length; i++) {
    const f = features[i]!;
    const value = f < dense ? 1 : scale;
    const base = f * k;
    for (let c = 0; c < k; c++) out[c]! += weights[base + c]! * value;
  }
  return out;
}

/** Softmax at a temperature, in place. */
export function softmax(scores: Float64Array, temperature = 1): Float64Array {
  let max = -Infinity;
  for (const s of scores) max = Math.max(max, s);
  let total = 0;
  for (let c = 0; c < scores.length; c++) total += scores[c] = Math.exp((scores[c]! - max) / temperature);
  for (let c = 0; c < scores.length; c++) scores[c]! /= total;
  return scores;
}

export function train(samples: Sample[], featureCount: number, k: number, options: TrainOptions = defaultTrainOptions, dense = 0): LinearWeights {
  const model: LinearWeights = { k, dense, weights: new Float32Array(featureCount * k), bias: new Float32Array(k) };
  const squared = new Float32Array(featureCount * k).fill(1e-8);
  const biasSquared = new Float64Array(k).fill(1e-8);
  const p = new Float64Array(k);
  for (let epoch = 0; epoch < options.epochs; epoch++) {
    const order = shuffle(samples.length, options.seed + epoch);
    for (const index of order) {
      const { features, label } = samples[index]!;
      softmax(logits(model, features, p));
      const scale = ngramValue(model, features);
      for (let c = 0; c < k; c++) {
        const g = p[c]! - (c === label ? 1 : 0);
        biasSquared[c]! += g * g;
        model.bias[c]! -= (options.rate * g) / Math.sqrt(biasSquared[c]!);
        for (let i = 0; i < features.length; i++) {
          const at = features[i]! * k + c;
          const gw = g * (features[i]! < dense ? 1 : scale) + options.l2 * model.weights[at]!;
          squared[at]! += gw * gw;
          model.weights[at]! -= (options.rate * gw) / Math.sqrt(squared[at]!);
        }
      }
    }
  }
  return model;
}

/**
 * The temperature that minimises the negative log-likelihood of held-apart predictions
 * (golden-section search over [0.2, 5]): temperature scaling, so a 0.8 means right 8 times in 10.
 */
export function fitTemperature(scored: Array<{ logits: Float64Array; label: number }>): number {
  const nll = (t: number) => scored.reduce((sum, s) => sum - Math.log(Math.max(softmax(Float64Array.from(s.logits), t)[s.label]!, 1e-12)), 0);
  let [a, b] = [0.2, 5];
  const ratio = (Math.sqrt(5) - 1) / 2;
  for (let i = 0; i < 40; i++) {
    const c = b - ratio * (b - a);
    const d = a + ratio * (b - a);
    if (nll(c) < nll(d)) b = d;
    else a = c;
  }
  return Math.round(((a + b) / 2) * 1000) / 1000;
}
