import createClassifier from 'wink-naive-bayes-text-classifier';

/**
 * A naive Bayes text model (wink-naive-bayes-text-classifier) over pre-computed features:
 * features are computed once per text and shared by every model.
 */
export class TextModel<L extends string> {
  private readonly nb = createClassifier();

  constructor(readonly labels: readonly L[], config: { considerOnlyPresence?: boolean; smoothingFactor?: number } = {}) {
    this.nb.defineConfig({ considerOnlyPresence: true, smoothingFactor: 0.5, ...config });
  }

  learn(features: string[], label: L): void {
    this.nb.learn(features, label);
  }

  consolidate(): this {
    this.nb.consolidate();
    return this;
  }

  /** Probabilities per label, highest first; all equal when no feature was ever seen. */
  probabilities(features: string[]): Array<[L, number]> {
    const odds = this.nb.computeOdds(features.length ? features : ['<none>']).filter(([label]) => label !== 'unknown') as Array<[L, number]>;
    if (odds.length === 0) return this.labels.map((l) => [l, 1 / this.labels.length] as [L, number]);
    // log2-odds → probability of each label against the rest, then normalised.
    const raw = odds.map(([label, o]) => [label, 1 / (1 + 2 ** -Math.max(-60, Math.min(60, o)))] as [L, number]);
    const total = raw.reduce((sum, [, p]) => sum + p, 0) || 1;
    return raw.map(([label, p]) => [label, p / total] as [L, number]).sort((a, b) => b[1] - a[1]);
  }
}
