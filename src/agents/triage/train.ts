import { blend, complementNaiveBayes, fitTemperature, logits, train, type LinearWeights, type Sample, type TrainOptions, defaultTrainOptions } from './linear.js';
import { heads, TriageModel, type Head, type HeadModel } from './artifact.js';
import { findSignals } from './signals.js';
import type { LabelledTicket } from './taxonomy.js';
import { featureStrings, isSignal } from './vectorize.js';

/** A feature must appear in this many training tickets to enter the vocabulary (rarer ones are noise, and weight). */
const minDocuments = 2;

export interface BuildOptions extends TrainOptions {
  /** Fit each head's temperature on out-of-fold predictions (k folds); 0 leaves it at 1. */
  calibrationFolds: number;
  /** The heads that learn from generated tickets too (the others from hand-written ones only). */
  generatedHeads: Head[];
  /** Per head, the share of complement naive Bayes blended into the regression's weights (0: the regression alone; see `blend`). */
  bayesShare: Record<Head, number>;
  /** How much a signal's naive Bayes weight counts against an n-gram's (see `blend`). */
  bayesSignalScale: number;
  /** How many times each hand-written ticket counts (2: they are fewer than the generated ones and closer to real tickets; better in cross-validation and in the split by source file, see docs/triage.md). */
  handwrittenWeight: number;
}

/** The blend's shares and scale were chosen on cross-validation and the split by source file (docs/triage.md), never on `eval/`. */
export const defaultBuildOptions: BuildOptions = {
  ...defaultTrainOptions,
  calibrationFolds: 5,
  generatedHeads: ['category', 'priority', 'urgency'],
  handwrittenWeight: 2,
  bayesShare: { category: 0.35, priority: 0.35, sentiment: 0.2, urgency: 0.2 },
  bayesSignalScale: 0.15,
};

/** One head's linear model: the regression, blended with naive Bayes on the same samples. */
function fit(samples: Sample[], featureCount: number, k: number, options: BuildOptions, head: Head, dense: number): LinearWeights {
  const share = options.bayesShare[head];
  const regression = train(samples, featureCount, k, options, dense);
  return share ? blend(regression, complementNaiveBayes(samples, featureCount, k), share, options.bayesSignalScale) : regression;
}

const featuresOf = (ticket: LabelledTicket) => featureStrings(ticket.text, findSignals(ticket.text));

/** Trains the four heads on a labelled corpus: the vocabulary, then one logistic regression per head, then calibration. */
export function trainModel(corpus: LabelledTicket[], options: BuildOptions = defaultBuildOptions): TriageModel {
  const strings = corpus.map(featuresOf);
  const documents = new Map<string, number>();
  for (const list of strings) for (const f of list) documents.set(f, (documents.get(f) ?? 0) + 1);
  const kept = [...documents].filter(([, n]) => n >= minDocuments).map(([f]) => f).sort();
  // Signals first (see LinearWeights.dense), then the n-grams.
  const signals = kept.filter(isSignal);
  const vocabulary = [...signals, ...kept.filter((f) => !isSignal(f))];
  const index = new Map(vocabulary.map((f, i) => [f, i]));
  const vectors = strings.map((list) => Int32Array.from(list.flatMap((f) => (index.has(f) ? [index.get(f)!] : []))));
  const trained = {} as Record<Head, HeadModel>;
  for (const head of Object.keys(heads) as Head[]) {
    const labels = heads[head] as readonly string[];
    const bad = corpus.findIndex((t) => !labels.includes(t[head]));
    if (bad >= 0) throw new Error(`training ticket ${bad + 1} has ${head} "${corpus[bad]![head]}", not one of ${labels.join(', ')}`);
    // Hand-written samples are scored for calibration: template-made ones are easier than real tickets.
    const scoredForCalibration: boolean[] = [];
    // The ticket each sample comes from: the calibration folds split tickets, so no copy of a scored ticket trains its fold.
    const ticketOf: number[] = [];
    const samples: Sample[] = corpus.flatMap((t, i) => {
      if (t.source === 'generated') {
        if (!options.generatedHeads.includes(head)) return [];
        scoredForCalibration.push(false);
        ticketOf.push(i);
        return [{ features: vectors[i]!, label: labels.indexOf(t[head]) }];
      }
      return Array.from({ length: options.handwrittenWeight }, (_, copy) => {
        scoredForCalibration.push(copy === 0);
        ticketOf.push(i);
        return { features: vectors[i]!, label: labels.indexOf(t[head]) };
      });
    });
    const weights = fit(samples, vocabulary.length, labels.length, options, head, signals.length);
    trained[head] = { ...weights, labels, temperature: options.calibrationFolds > 1 ? calibrate(samples, scoredForCalibration, ticketOf, vocabulary.length, labels.length, options, head, signals.length) : 1 };
  }
  return new TriageModel(vocabulary, trained, corpus.length);
}

/** Temperature fitted on predictions for hand-written tickets each fold's model never saw. */
function calibrate(samples: Sample[], scoredForCalibration: boolean[], ticketOf: number[], featureCount: number, k: number, options: BuildOptions, head: Head, dense: number): number {
  const folds = options.calibrationFolds;
  const scored: Array<{ logits: Float64Array; label: number }> = [];
  for (let f = 0; f < folds; f++) {
    const model = fit(samples.filter((_, i) => ticketOf[i]! % folds !== f), featureCount, k, options, head, dense);
    samples.forEach((s, i) => {
      if (ticketOf[i]! % folds === f && scoredForCalibration[i]) scored.push({ logits: logits(model, s.features), label: s.label });
    });
  }
  return fitTemperature(scored);
}
