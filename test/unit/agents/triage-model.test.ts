import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { ModelArtifact } from '../../../src/agents/triage/artifact.js';
import { classify, corpusFiles, defaultModel, modelPath, trainingCorpus } from '../../../src/agents/triage/engine.js';
import { ExampleIndex } from '../../../src/agents/triage/examples.js';
import { blend, complementNaiveBayes, fitTemperature, logits, softmax, train, type Sample } from '../../../src/agents/triage/linear.js';
import { trainModel } from '../../../src/agents/triage/train.js';
import { featureStrings } from '../../../src/agents/triage/vectorize.js';
import { findSignals } from '../../../src/agents/triage/signals.js';

const artifact = JSON.parse(readFileSync(modelPath, 'utf8')) as ModelArtifact;

describe('the shipped model', () => {
  it('was trained on the corpus as committed (run npm run train after changing data/)', () => {
    const hash = createHash('sha256');
    for (const file of corpusFiles) hash.update(readFileSync(new URL(`../../../src/agents/triage/data/${file}`, import.meta.url)));
    expect(artifact.corpus.sha256).toBe(hash.digest('hex'));
    expect(artifact.corpus.tickets).toBe(trainingCorpus().length);
  });

  it('is small and calibrated', () => {
    expect(readFileSync(modelPath).length).toBeLessThan(2_000_000);
    for (const head of Object.values(artifact.heads)) expect(head.temperature).toBeGreaterThan(0.2);
  });

  it('never trains on a held-out ticket', () => {
    const training = new Set(trainingCorpus().map((t) => t.text));
    const heldOut = readFileSync(new URL('../../../eval/tickets.jsonl', import.meta.url), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { text: string }).text);
    expect(heldOut.filter((t) => training.has(t))).toEqual([]);
  });
});

describe('the issue #17 tickets', () => {
  it('reads the online shop that no longer loads as an application, not a laptop battery', () => {
    const c = classify('La boutique en ligne ne charge plus');
    expect(c.category).toBe('application');
    expect(c.reasons[0]).toMatch(/^application .*"boutique/);
  });

  it('reads a phished password as a security incident of urgent or high priority', () => {
    const c = classify('Someone phished my password, I clicked a suspicious link in an email and typed my credentials.');
    expect(c.category).toBe('security');
    expect(['urgent', 'high']).toContain(c.priority);
    expect(c.reasons.join(' ')).toMatch(/security incident "phished"/);
  });

  it("reads the README's quick-start ticket as negative and pressing", () => {
    const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
    const text = /twl ticket create "([^"]+)"/.exec(readme)![1]!;
    const c = classify(text);
    expect(c.sentiment.sentiment).toBe('negative');
    expect(c.sentiment.urgency).toBe('high');
    expect(c.reasons.join(' ')).toMatch(/impact "tout le service"/);
  });
});

describe('features', () => {
  it('fold accents, so a chat message without them shares the features of the written one', () => {
    const written = new Set(featureStrings('Le réseau ne répond plus', []));
    const chat = featureStrings('le reseau ne repond plus', []);
    expect(chat.every((f) => written.has(f))).toBe(true);
  });

  it('mark words after a negation, and carry the human signals', () => {
    const text = 'Pas urgent, tout le monde est bloqué';
    const f = featureStrings(text, findSignals(text));
    expect(f).toContain('w:!urgent');
    expect(f).toEqual(expect.arrayContaining(['s:impact', 's:impact&outage', 's:calm']));
  });
});

describe('logistic regression trainer', () => {
  it('learns which feature tells the labels apart', () => {
    const samples: Sample[] = [
      { features: Int32Array.from([0, 2]), label: 0 },
      { features: Int32Array.from([1, 2]), label: 1 },
    ];
    const model = train(samples, 3, 2, { epochs: 40, l2: 0, rate: 0.5, seed: 1 });
    expect(softmax(logits(model, samples[0]!.features))[0]).toBeGreaterThan(0.9);
    expect(softmax(logits(model, samples[1]!.features))[1]).toBeGreaterThan(0.9);
    // The shared feature alone says little; each telling feature leans to its own label.
    expect(softmax(logits(model, Int32Array.from([2])))[0]).toBeGreaterThan(0.2);
    expect(softmax(logits(model, Int32Array.from([2])))[0]).toBeLessThan(0.8);
    expect(model.weights[0 * 2]!).toBeGreaterThan(model.weights[0 * 2 + 1]!);
    expect(model.weights[1 * 2 + 1]!).toBeGreaterThan(model.weights[1 * 2]!);
  });

  it('is deterministic: the same corpus gives the same weights', () => {
    const corpus = trainingCorpus().slice(0, 200);
    const a = trainModel(corpus, { epochs: 3, l2: 1e-5, rate: 0.1, seed: 3, calibrationFolds: 0, generatedHeads: ['category'], handwrittenWeight: 1, bayesShare: { category: 0.3, priority: 0, sentiment: 0, urgency: 0 }, bayesSignalScale: 0.15 });
    const b = trainModel(corpus, { epochs: 3, l2: 1e-5, rate: 0.1, seed: 3, calibrationFolds: 0, generatedHeads: ['category'], handwrittenWeight: 1, bayesShare: { category: 0.3, priority: 0, sentiment: 0, urgency: 0 }, bayesSignalScale: 0.15 });
    expect(Buffer.from(a.heads.category.weights.buffer).equals(Buffer.from(b.heads.category.weights.buffer))).toBe(true);
  });

  it('blends complement naive Bayes into the same weights, signals scaled down', () => {
    // Feature 0 only with label 0, feature 1 only with label 1, feature 2 (a signal) with both.
    const samples: Sample[] = [
      { features: Int32Array.from([2, 0]), label: 0 },
      { features: Int32Array.from([2, 0]), label: 0 },
      { features: Int32Array.from([2, 1]), label: 1 },
    ];
    const bayes = complementNaiveBayes(samples, 3, 2);
    expect(bayes[0 * 2 + 0]!).toBeGreaterThan(0);
    expect(bayes[0 * 2 + 1]!).toBeLessThan(0);
    expect(bayes[1 * 2 + 1]!).toBeGreaterThan(0);
    expect(Math.abs(bayes[2 * 2 + 0]!)).toBeLessThan(Math.abs(bayes[0 * 2 + 0]!));
    const regression = train(samples, 3, 2, { epochs: 5, l2: 0, rate: 0.5, seed: 1 }, 1);
    expect(blend(regression, bayes, 0, 0.15)).toBe(regression);
    const half = blend(regression, bayes, 0.5, 0.15);
    // With dense = 1, feature 0 counts as a signal: its naive Bayes weight is scaled by 0.15.
    expect(half.weights[0]!).toBeCloseTo(0.5 * regression.weights[0]! + 0.5 * 0.15 * bayes[0]!, 5);
    expect(half.weights[3]!).toBeCloseTo(0.5 * regression.weights[3]! + 0.5 * bayes[3]!, 5);
    expect(half.bias[1]!).toBeCloseTo(0.5 * regression.bias[1]!, 5);
  });

  it('fits a temperature above 1 for overconfident scores and below 1 for timid ones', () => {
    const overconfident = Array.from({ length: 100 }, (_, i) => ({ logits: Float64Array.from([8, 0]), label: i % 3 === 0 ? 1 : 0 }));
    expect(fitTemperature(overconfident)).toBeGreaterThan(1);
    const timid = Array.from({ length: 100 }, () => ({ logits: Float64Array.from([0.3, 0]), label: 0 }));
    expect(fitTemperature(timid)).toBeLessThan(1);
  });
});

describe('named services', () => {
  it('point at their categories, with the reason', () => {
    const text = 'ledger is down';
    const c = classify(text, undefined, [{ name: 'ledger', words: ['ledger'], categories: ['database'] }]);
    expect(c.category).toBe('database');
    expect(c.reasons.join(' ')).toMatch(/configured service ledger \(database\)/);
  });

  it('ignore a service whose name is only part of a word', () => {
    const plain = classify('The printer jams on every page');
    const c = classify('The printer jams on every page', undefined, [{ name: 'page', words: ['pag'], categories: ['database'] }]);
    expect(c.category).toBe(plain.category);
  });
});

describe('few-shot examples', () => {
  it('are the nearest hand-written tickets, at most two per category', () => {
    const index = ExampleIndex.handwritten(defaultModel());
    // A hand-written ticket retyped chat-style (lower case, no accents) finds itself first.
    const ticket = index.tickets.find((t) => t.lang === 'fr' && /[éèà]/.test(t.text) && t.text.length > 60)!;
    const retyped = ticket.text.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
    expect(index.nearest(retyped, 3)[0]).toBe(ticket);
    const shots = index.nearest('Le VPN ne se connecte plus depuis chez moi', 6);
    expect(shots).toHaveLength(6);
    // Those sharing "ne se connecte" come first, and network ones among them.
    expect(shots.slice(0, 3).some((t) => t.category === 'network')).toBe(true);
    expect(shots.slice(0, 3).every((t) => /ne se connecte/i.test(t.text))).toBe(true);
    expect(shots.every((t) => t.source === undefined)).toBe(true);
    const perCategory = new Map<string, number>();
    for (const t of shots) perCategory.set(t.category, (perCategory.get(t.category) ?? 0) + 1);
    expect(Math.max(...perCategory.values())).toBeLessThanOrEqual(2);
  });
});
