import { describe, expect, it } from 'vitest';
import { TextModel } from '../../../src/agents/triage/model.js';
import { features } from '../../../src/agents/triage/text.js';

describe('TextModel', () => {
  const model = new TextModel(['a', 'b', 'c'] as const);
  const data: Array<[string, 'a' | 'b' | 'c']> = [
    ['the printer jams again', 'a'],
    ['printer out of toner', 'a'],
    ['vpn drops every hour', 'b'],
    ['dns does not resolve, vpn slow', 'b'],
    ['mailbox full, cannot send', 'c'],
    ['outlook does not receive mail', 'c'],
  ];
  for (const [text, label] of data) model.learn(features(text), label);
  model.consolidate();

  it.each(['printer jams', 'vpn is slow and the dns too', 'mail not received in outlook', 'printer vpn mail'])('memoised odds equal the library\'s for "%s"', (text) => {
    const f = features(text);
    const reference = new Map(model.referenceOdds(f));
    const total = [...reference.values()].map((o) => 1 / (1 + 2 ** -o)).reduce((a, b) => a + b, 0);
    for (const [label, p] of model.probabilities(f)) expect(p).toBeCloseTo(1 / (1 + 2 ** -reference.get(label)!) / total, 10);
  });

  it('is uniform for unseen words', () => {
    expect(model.probabilities(features('zzz qqq')).map(([, p]) => p)).toEqual([1 / 3, 1 / 3, 1 / 3]);
  });
});
