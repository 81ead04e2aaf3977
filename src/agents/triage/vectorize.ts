import { ruleEvidence } from './category-rules.js';
import type { Signal } from './signals.js';
import { fold } from './text.js';

/**
 * The features the linear models read, as strings: accent-folded words (`w:`, marked `!` for
 * three words after a negation), word pairs (`b:`), character 4-grams inside words (`c:`, so
 * typos, missing accents and inflections still share most of their features), and the human
 * signals found by `findSignals` (`s:`): how many are hit (impact), production, deadlines,
 * urgency and calm words, tone marks, plus the pairs a human weighs together (impact with an
 * outage). Each string appears once.
 */

const negators = new Set(['not', 'no', 'never', 'cannot', 'cant', 'dont', 'doesnt', 'didnt', 'isnt', 'wont', 'pas', 'plus', 'jamais', 'aucun', 'aucune', 'rien', 'sans', 'ne']);

/** Words of two characters or more, folded (lower case, no accents, n't → nt). */
const tokens = (folded: string): string[] => folded.match(/[\p{L}\p{N}]{2,}/gu) ?? [];

/** A security incident under way (not a question about security): clicked, infected, leaked, hacked. */
export const securityIncident = /\b(phish\w*|hame?connage|clique|clicked|ransomware|rancon|malware|virus|infect\w*|intrusion|pirat\w*|hack\w*|compromis\w*|compromised|fuite|fuit\w*|leak\w*|exfiltr\w*|defaced|defigur\w*|defacement|spoof\w*|usurp\w*|frauduleu\w*|fraudulent|credential stuffing|brute.?force|stolen|vole)\b/;

export function featureStrings(text: string, signals: Signal[]): string[] {
  const out = new Set<string>();
  eachFeature(text, signals, (f) => out.add(f));
  return [...out];
}

/** Calls `emit` with each feature of the text (a feature may come more than once). */
export function eachFeature(text: string, signals: Signal[], emit: (feature: string) => void, folded: string = fold(text)): void {
  const words = tokens(folded);
  const out = { add: emit };
  let negate = 0;
  let previous = '^';
  for (const word of words) {
    const negator = negators.has(word);
    const mark = negate > 0 && !negator ? '!' : '';
    if (negate > 0) negate--;
    if (negator) negate = 3;
    out.add(`w:${mark}${word}`);
    out.add(`b:${previous}_${word}`);
    previous = word;
    if (word.length >= 5) {
      const padded = ` ${word} `;
      for (let i = 0; i + 4 <= padded.length; i++) out.add(`c:${padded.slice(i, i + 4)}`);
    }
  }
  // The taxonomy's lexicon (category-rules.ts) as evidence the model weighs, not as a verdict.
  let best = '';
  let bestScore = 0;
  for (const [category, { score }] of ruleEvidence(folded)) {
    out.add(`r:${category}`);
    if (score >= 6) out.add(`r:${category}+`);
    if (score >= 10) out.add(`r:${category}++`);
    if (score > bestScore) [best, bestScore] = [category, score];
  }
  if (best) out.add(`r:top-${best}`);
  const kinds = new Map<string, number>();
  for (const s of signals) kinds.set(s.type, (kinds.get(s.type) ?? 0) + 1);
  for (const [kind, n] of kinds) {
    out.add(`s:${kind}`);
    if (n >= 2) out.add(`s:${kind}*2`);
  }
  // The signals' summed weights per effect, in steps: how strongly the words push each way.
  const sums = new Map<string, number>();
  for (const s of signals) sums.set(s.effect, (sums.get(s.effect) ?? 0) + s.weight);
  for (const [effect, sum] of sums) for (const step of [1, 2, 3, 4, 6]) if (sum >= step) out.add(`e:${effect}>=${step}`);
  const has = (kind: Signal['type']) => kinds.has(kind);
  if (has('impact') && (has('outage') || has('urgent-word'))) out.add('s:impact&outage');
  if (has('production') && has('outage')) out.add('s:production&outage');
  if (securityIncident.test(folded)) out.add('s:security-incident');
  if (!has('impact') && !has('deadline') && !has('urgent-word') && !has('outage')) out.add('s:no-pressure');
  out.add(words.length < 12 ? 's:short' : words.length < 40 ? 's:medium-length' : 's:long');
  out.add('s:bias');
}

/** A feature string as a human reads it in a reason ("boutique", "charge plus"), or null for the ones that say nothing alone. */
export function readable(feature: string): string | null {
  if (feature.startsWith('w:')) return feature.replace('!', '').length > 5 ? feature.slice(2).replace(/^!/, 'not ') : null;
  if (feature.startsWith('b:') && !feature.includes('^')) return feature.slice(2).replace('_', ' ');
  if (feature.startsWith('s:') && feature !== 's:bias' && !feature.endsWith('length') && feature !== 's:short' && feature !== 's:long') return `signal ${feature.slice(2)}`;
  return null;
}

/** Signal features (tone, pressure, the lexicon's evidence) as opposed to n-grams. */
export const isSignal = (feature: string): boolean => feature.startsWith('s:') || feature.startsWith('e:') || feature.startsWith('r:');
