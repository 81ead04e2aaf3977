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
 * Complement naive Bayes log-ratios (Rennie et al., 2003) over the same sparse features: for
 * each feature and class, log P(feature | class) − log P(feature | every other class), with
 * additive smoothing. Counted once per sample, so weighted copies count as often as they appear.
 * Feature-major like `LinearWeights.weights`.
 */
export function complementNaiveBayes(samples: Sample[], featureCount: number, k: number, smoothing = 0.5): Float64Array {
  const counts = new Float64Array(featureCount * k);
  const perClass = new Float64Array(k);
  for (const { features, label } of samples) {
    for (const f of features) counts[f * k + label]! += 1;
    perClass[label]! += features.length;
  }
  const total = perClass.reduce((a, b) => a + b, 0);
  const weights = new Float64Array(featureCount * k);
  for (let f = 0; f < featureCount; f++) {
    let all = 0;
    for (let c = 0; c < k; c++) all += counts[f * k + c]!;
    for (let c = 0; c < k; c++) {
      const own = (counts[f * k + c]! + smoothing) / (perClass[c]! + smoothing * featureCount);
      const rest = (all - counts[f * k + c]! + smoothing) / (total - perClass[c]! + smoothing * featureCount);
      weights[f * k + c] = Math.log(own) - Math.log(rest);
    }
  }
  return weights;
}

/**
 * A logistic regression blended with complement naive Bayes, folded into one linear model:
 * `(1 − share) × regression + share × naive Bayes` per weight, the naive Bayes weights of signal
 * features scaled by `signalScale` (signals count 1 each, n-grams 1/√n: unscaled, a dozen
 * signals would drown the words). Naive Bayes generalises from fewer examples per word, the
 * regression fits their interactions; together they did better on another writer's tickets
 * than either (docs/triage.md). The shipped model has the same size and speed as either alone.
 */
export function blend(model: LinearWeights, bayes: Float64Array, share: number, signalScale: number): LinearWeights {
  if (share === 0) return model;
  const { k, dense } = model;
  const weights = new Float32Array(model.weights.length);
  for (let at = 0; at < weights.length; at++) weights[at] = (1 - share) * model.weights[at]! + share * bayes[at]! * (Math.floor(at / k) < dense ? signalScale : 1);
  return { k, dense, weights, bias: model.bias.map((b) => (1 - share) * b) };
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
