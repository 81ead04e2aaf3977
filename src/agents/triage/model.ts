import createClassifier from 'wink-naive-bayes-text-classifier';

/**
 * A naive Bayes text model (wink-naive-bayes-text-classifier) over pre-computed features.
 *
 * wink's odds for a label are additive over tokens: odds(tokens, L) = prior(L) + Σ c(t, L).
 * Computing them costs labels² work per token on every call, so each token's odds are asked
 * of the library once and memoised; a text's odds are then sums of cached numbers, exactly
 * the library's.
 */
export class TextModel<L extends string> {
  private readonly nb = createClassifier();
  /** prior(L) per label, in the order of `labels`. */
  private prior = new Float64Array(0);
  /** c(t, L) = odds([t], L) - prior(L) per token, in the order of `labels`; null for unseen tokens. */
  private readonly perToken = new Map<string, Float64Array | null>();
  /** Tokens seen in training: any other token contributes nothing (the library ignores it too), and is not cached. */
  private readonly vocabulary = new Set<string>();

  constructor(readonly labels: readonly L[], config: { considerOnlyPresence?: boolean; smoothingFactor?: number } = {}) {
    this.nb.defineConfig({ considerOnlyPresence: true, smoothingFactor: 0.5, ...config });
  }

  learn(features: string[], label: L): void {
    for (const f of features) this.vocabulary.add(f);
    this.nb.learn(features, label);
  }

  consolidate(): this {
    this.nb.consolidate();
    const { labelWiseSamples } = (this.nb as unknown as { stats(): { labelWiseSamples: Record<string, number> } }).stats();
    const total = Object.values(labelWiseSamples).reduce((a, b) => a + b, 0);
    this.prior = Float64Array.from(this.labels, (label) => {
      const n = labelWiseSamples[label] ?? 0;
      return Math.log2(n) - Math.log2(total - n);
    });
    return this;
  }

  /** The library's odds for one token, less each label's prior (null: a token it never saw). */
  private tokenOdds(token: string): Float64Array | null {
    if (!this.vocabulary.has(token)) return null;
    let contribution = this.perToken.get(token);
    if (contribution === undefined) {
      const computed = new Map(this.nb.computeOdds([token]).filter(([label]) => label !== 'unknown'));
      contribution = computed.size ? Float64Array.from(this.labels, (label, i) => (computed.get(label) ?? this.prior[i]!) - this.prior[i]!) : null;
      this.perToken.set(token, contribution);
    }
    return contribution;
  }

  /** Probabilities per label, highest first; all equal when no feature was ever seen. */
  probabilities(features: string[]): Array<[L, number]> {
    const k = this.labels.length;
    const sums = new Float64Array(k);
    let known = 0;
    for (const token of features) {
      const c = this.tokenOdds(token);
      if (!c) continue;
      known++;
      for (let i = 0; i < k; i++) sums[i]! += c[i]!;
    }
    if (known === 0) return this.labels.map((l) => [l, 1 / k] as [L, number]);
    // log2-odds of each label against the rest → probability, then normalised.
    let total = 0;
    const out = this.labels.map((label, i) => {
      const p = 1 / (1 + 2 ** -Math.max(-60, Math.min(60, sums[i]! + this.prior[i]!)));
      total += p;
      return [label, p] as [L, number];
    });
    for (const pair of out) pair[1] /= total || 1;
    return out.sort((a, b) => b[1] - a[1]);
  }

  /** The library's own computation, uncached: the reference the memoised sums are tested against. */
  referenceOdds(features: string[]): Array<[string, number]> {
    return this.nb.computeOdds(features);
  }
}
