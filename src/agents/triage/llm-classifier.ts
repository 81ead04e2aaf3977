import { messageOf } from '../../runtime/errors.js';
import type { Llm } from '../../runtime/llm.js';
import { classify, defaultModel, type Classification, type NamedService } from './engine.js';
import { ExampleIndex } from './examples.js';
import { categories, categoryMeaning, priorities, priorityMeaning, type Category, type Priority } from './taxonomy.js';

export interface ClassifyOutcome extends Classification {
  method: 'rules' | 'llm';
  /** Why the LLM's answer was not used, when it was asked and the model decided. */
  fallback: string | null;
  /** When the LLM's answer was used and differs from the model's: both, for whoever reviews it. */
  disagreement: { model: { category: Category; priority: Priority }; llm: { category: Category; priority: Priority } } | null;
}

/** How many labelled tickets the prompt shows. */
const shots = 6;

let index: ExampleIndex | undefined;
const examples = () => (index ??= ExampleIndex.handwritten(defaultModel()));

const prompt = (text: string) => `Classify this IT helpdesk ticket. Answer with JSON only: {"category": "...", "priority": "...", "reason": "..."}.

Categories (use exactly one of these names):
${categories.map((c) => `- ${c}: ${categoryMeaning[c]}`).join('\n')}

Priorities (use exactly one of these names):
${priorities.map((p) => `- ${p}: ${priorityMeaning[p]}`).join('\n')}

Labelled tickets similar to this one, most similar first:
${examples()
  .nearest(text, shots)
  .map((t) => JSON.stringify({ ticket: t.text.slice(0, 400), category: t.category, priority: t.priority }))
  .join('\n')}

Ticket:
"""
${text}
"""`;

/** Ollama's structured output: the answer must be one of the taxonomy's names. */
const answerSchema = {
  type: 'object',
  properties: { category: { type: 'string', enum: [...categories] }, priority: { type: 'string', enum: [...priorities] }, reason: { type: 'string' } },
  required: ['category', 'priority', 'reason'],
};

/**
 * Asks the LLM when one is configured, with a few-shot prompt of the nearest labelled tickets
 * and an output schema limited to the taxonomy; labels outside it are refused all the same
 * (small models ignore schemas). Any failure falls back to the model's answer, saying why; an
 * accepted answer that differs from the model's is recorded as a disagreement.
 */
export async function classifyTicket(text: string, llm: Llm | undefined, signal?: AbortSignal, services: NamedService[] = []): Promise<ClassifyOutcome> {
  const model = classify(text, undefined, services);
  if (!llm) return { ...model, method: 'rules', fallback: null, disagreement: null };
  let answer: { category?: unknown; priority?: unknown; reason?: unknown };
  try {
    const res = await llm.chat([{ role: 'user', content: prompt(text) }], { format: answerSchema, signal });
    answer = JSON.parse(res.message.content) as typeof answer;
  } catch (err) {
    return { ...model, method: 'rules', fallback: `the LLM did not answer usably (${messageOf(err)}): used the model's answer`, disagreement: null };
  }
  const category = String(answer.category ?? '').trim().toLowerCase();
  const priority = String(answer.priority ?? '').trim().toLowerCase();
  if (!categories.includes(category as Category)) {
    return { ...model, method: 'rules', fallback: `the LLM answered category "${String(answer.category)}", which is not in the taxonomy: used the model's answer`, disagreement: null };
  }
  const validPriority = priorities.includes(priority as Priority);
  const chosen = { category: category as Category, priority: validPriority ? (priority as Priority) : model.priority };
  const disagrees = chosen.category !== model.category || chosen.priority !== model.priority;
  const reason = typeof answer.reason === 'string' ? answer.reason.slice(0, 500) : 'no reason given';
  return {
    ...model,
    ...chosen,
    categoryConfidence: 0.9,
    priorityConfidence: validPriority ? 0.9 : model.priorityConfidence,
    reasons: [
      `LLM (${llm.model}, ${shots} nearest labelled tickets as examples): ${reason}`,
      ...(validPriority ? [] : [`the LLM's priority "${String(answer.priority)}" is not valid: kept the model's ${model.priority}`]),
      `${disagrees ? 'disagrees with' : 'agrees with'} the model: ${model.category} (${model.categoryConfidence}), priority ${model.priority}`,
    ],
    needsHuman: false,
    method: 'llm',
    fallback: null,
    disagreement: disagrees ? { model: { category: model.category, priority: model.priority }, llm: chosen } : null,
  };
}
