import { readFileSync } from 'node:fs';
import { TriageModel } from './artifact.js';
import { findSignals, type Signal } from './signals.js';
import type { Category, LabelledTicket, Priority, Sentiment, Urgency } from './taxonomy.js';
import { fold } from './text.js';
import { readable, securityIncident } from './vectorize.js';

/**
 * Triage without an LLM: four calibrated linear models (category, priority, sentiment,
 * urgency) over word and character n-grams and the human signals of `signals.ts`, trained on
 * the labelled corpus in data/ (`npm run train` writes data/model.json). The explicit phrases
 * (an outage hitting many people, a security incident under way, deadlines) are features the
 * models weigh: as hard floors on the priority they did worse in cross-validation, so they are
 * not rules. One rule stays, because the corpus cannot know it: a service named in the
 * configuration points at the categories it concerns.
 */

/** Below this calibrated category confidence a ticket is marked for a human instead of trusted. */
export const humanThreshold = 0.5;

/** How much a configured service named in the ticket multiplies its categories' odds. */
const namedServiceOdds = 20;

/** The files written by hand (see data/README.md): cross-validation and the LLM's examples draw on these only. */
export const handwrittenFiles = ['training.jsonl', 'handwritten.jsonl', 'handwritten-2.jsonl', 'handwritten-3.jsonl', 'handwritten-4.jsonl', 'handwritten-5.jsonl'] as const;
export const corpusFiles = [...handwrittenFiles, 'generated.jsonl'] as const;
export const dataDirectory = new URL('./data/', import.meta.url);
export const modelPath = new URL('./data/model.json', import.meta.url);

export function parseCorpus(text: string, source: string): LabelledTicket[] {
  return text
    .split('\n')
    .filter((line) => line.trim())
    .map((line, i) => {
      try {
        return JSON.parse(line) as LabelledTicket;
      } catch (err) {
        throw new Error(`${source} line ${i + 1}: ${(err as Error).message}`, { cause: err });
      }
    });
}

/** The whole training corpus: the hand-written files, then the generated one (see data/README.md). */
export const trainingCorpus = (): LabelledTicket[] => corpusFiles.flatMap((file) => parseCorpus(readFileSync(new URL(file, dataDirectory), 'utf8'), file));

let loaded: TriageModel | undefined;
/** The shipped model, loaded once per process. */
export const defaultModel = (): TriageModel => (loaded ??= TriageModel.load(modelPath));

const round = (n: number) => Math.round(n * 1000) / 1000;

export interface SentimentResult {
  sentiment: Sentiment;
  confidence: number;
  urgency: Urgency;
  urgencyConfidence: number;
  signals: Signal[];
}

/** A configured service as triage sees it: words that name it and the categories it concerns. */
export interface NamedService {
  name: string;
  words: string[];
  categories: Category[];
}

export interface Classification {
  category: Category;
  categoryConfidence: number;
  priority: Priority;
  priorityConfidence: number;
  /** Why, in words: the words and signals that weighed most, and any rule that applied. */
  reasons: string[];
  /** Low confidence: a human should check the category rather than trust it. */
  needsHuman: boolean;
  alternatives: Array<{ category: Category; confidence: number }>;
  sentiment: SentimentResult;
}

interface Prepared {
  folded: string;
  signals: Signal[];
  vector: Int32Array;
}

function prepare(text: string, model: TriageModel): Prepared {
  const folded = fold(text);
  const signals = findSignals(text, folded);
  return { folded, signals, vector: model.vectorize(text, signals, folded) };
}

function tone(model: TriageModel, { vector, signals }: Prepared): SentimentResult {
  const [sentiment] = model.predict('sentiment', vector);
  const [urgency] = model.predict('urgency', vector);
  return { sentiment: sentiment![0], confidence: round(sentiment![1]), urgency: urgency![0], urgencyConfidence: round(urgency![1]), signals };
}

export function analyzeSentiment(text: string, model: TriageModel = defaultModel()): SentimentResult {
  return tone(model, prepare(text, model));
}

const quoted = (words: string[]) => words.map((w) => `"${w}"`).join(', ');

/** Services whose name or keywords appear in the folded text. */
const named = (folded: string, services: NamedService[]) => services.filter((s) => s.words.some((w) => w.length > 2 && new RegExp(`\\b${fold(w).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\b`).test(folded)));

export function classify(text: string, model: TriageModel = defaultModel(), services: NamedService[] = []): Classification {
  const prepared = prepare(text, model);
  const { folded, signals, vector } = prepared;
  const reasons: string[] = [];
  let category = model.predict('category', vector);
  const mentioned = named(folded, services);
  if (mentioned.length) {
    const boosted = new Set(mentioned.flatMap((s) => s.categories));
    const total = category.reduce((sum, [c, p]) => sum + p * (boosted.has(c) ? namedServiceOdds : 1), 0);
    category = category.map(([c, p]) => [c, (p * (boosted.has(c) ? namedServiceOdds : 1)) / total] as [Category, number]).sort((a, b) => b[1] - a[1]);
  }
  const [top, second] = category;
  const words = model.strongest('category', vector, top![0], 4, (f) => readable(f) !== null && !f.startsWith('s:')).map((f) => readable(f)!);
  reasons.push(`${top![0]} (${round(top![1])}): ${words.length ? `learned from ${quoted(words)}` : 'no telling words: the corpus prior'}`);
  if (mentioned.length) reasons.push(`names the configured service${mentioned.length > 1 ? 's' : ''} ${mentioned.map((s) => `${s.name} (${s.categories.join('/')})`).join(', ')}`);
  if (second && second[1] > 0.15) reasons.push(`runner-up ${second[0]} (${round(second[1])})`);

  const priority = model.predict('priority', vector);
  const incident = securityIncident.exec(folded);
  const pressing = signals.filter((s) => s.effect === 'urgency+' || s.effect === 'urgency-').slice(0, 4).map((s) => `${s.type} "${s.match}"`);
  if (incident) pressing.unshift(`security incident "${incident[0]}"`);
  const learned = model.strongest('priority', vector, priority[0]![0], 3, (f) => readable(f) !== null && !f.startsWith('s:') && !f.startsWith('e:') && !f.startsWith('r:')).map((f) => readable(f)!);
  reasons.push(`priority ${priority[0]![0]} (${round(priority[0]![1])}): ${pressing.length ? pressing.join(', ') : 'no urgency, impact, deadline or incident words'}${learned.length ? `; learned from ${quoted(learned)}` : ''}`);
  // No word or word pair the corpus knows: the category is the corpus prior, however confident.
  const unread = !vector.some((f) => f >= model.heads.category.dense);
  const needsHuman = unread || top![1] < humanThreshold;
  if (unread) reasons.push('no word the model learned from: marked for a human');
  else if (needsHuman) reasons.push(`category confidence ${round(top![1])} is below ${humanThreshold}: marked for a human`);
  return {
    category: top![0],
    categoryConfidence: round(top![1]),
    priority: priority[0]![0],
    priorityConfidence: round(priority[0]![1]),
    reasons,
    needsHuman,
    alternatives: category.slice(1, 3).map(([c, p]) => ({ category: c, confidence: round(p) })),
    sentiment: tone(model, prepared),
  };
}
