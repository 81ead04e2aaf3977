import { messageOf } from '../../runtime/errors.js';
import type { Llm } from '../../runtime/llm.js';
import { classify, type Classification } from './engine.js';
import { categories, categoryMeaning, priorities, priorityMeaning, type Category, type Priority } from './taxonomy.js';

export interface ClassifyOutcome extends Classification {
  method: 'rules' | 'llm';
  /** Why the LLM's answer was not used, when it was asked and the rules decided. */
  fallback: string | null;
}

const prompt = (text: string) => `Classify this IT helpdesk ticket. Answer with JSON only: {"category": "...", "priority": "...", "reason": "..."}.

Categories (use exactly one of these names):
${categories.map((c) => `- ${c}: ${categoryMeaning[c]}`).join('\n')}

Priorities (use exactly one of these names):
${priorities.map((p) => `- ${p}: ${priorityMeaning[p]}`).join('\n')}

Ticket:
"""
${text}
"""`;

/**
 * Asks the LLM when one is configured, and accepts only labels from the taxonomy; any
 * failure or invalid answer falls back to the rule-based classifier, saying why.
 */
export async function classifyTicket(text: string, llm: Llm | undefined, signal?: AbortSignal): Promise<ClassifyOutcome> {
  const rules = classify(text);
  if (!llm) return { ...rules, method: 'rules', fallback: null };
  let answer: { category?: unknown; priority?: unknown; reason?: unknown };
  try {
    const res = await llm.chat([{ role: 'user', content: prompt(text) }], { format: 'json', signal });
    answer = JSON.parse(res.message.content) as typeof answer;
  } catch (err) {
    return { ...rules, method: 'rules', fallback: `the LLM did not answer usably (${messageOf(err)}): used the rule-based classifier` };
  }
  const category = String(answer.category ?? '').trim().toLowerCase();
  const priority = String(answer.priority ?? '').trim().toLowerCase();
  if (!categories.includes(category as Category)) {
    return { ...rules, method: 'rules', fallback: `the LLM answered category "${String(answer.category)}", which is not in the taxonomy: used the rule-based classifier` };
  }
  const validPriority = priorities.includes(priority as Priority);
  const reason = typeof answer.reason === 'string' ? answer.reason.slice(0, 500) : 'no reason given';
  return {
    ...rules,
    category: category as Category,
    categoryConfidence: 0.9,
    priority: validPriority ? (priority as Priority) : rules.priority,
    priorityConfidence: validPriority ? 0.9 : rules.priorityConfidence,
    reasons: [`LLM (${llm.model}): ${reason}`, ...(validPriority ? [] : [`the LLM's priority "${String(answer.priority)}" is not valid: kept the rule-based ${rules.priority}`]), `rules said ${rules.category} (${rules.categoryConfidence})`],
    needsHuman: false,
    method: 'llm',
    fallback: null,
  };
}
