import type { Llm } from '../../runtime/llm.js';
import type { Queryable } from '../../store/types.js';
import type { NamedService } from '../triage/engine.js';
import { classifyTicket, type ClassifyOutcome } from '../triage/llm-classifier.js';
import { appendEvent, transition, updateTicket, type Ticket } from './repo.js';

/** Reads the ticket's tone and classifies it (no store access: an LLM may take a while). */
export async function assessTicket(ticket: Ticket, llm: Llm | undefined, signal?: AbortSignal, services: NamedService[] = []): Promise<{ classification: ClassifyOutcome; ms: number }> {
  const started = performance.now();
  const classification = await classifyTicket(ticket.text, llm, signal, services);
  return { classification, ms: performance.now() - started };
}

/**
 * Records an assessment on the timeline (sentiment, then classification) and stores the
 * labels; a new, reopened or escalated ticket becomes triaged. Run it in a short transaction.
 */
export async function recordTriage(q: Queryable, ticket: Ticket, { classification, ms: total }: { classification: ClassifyOutcome; ms: number }, actor: string): Promise<Ticket> {
  const { sentiment } = classification;
  await appendEvent(q, ticket.id, {
    actor: 'sentiment-analyzer',
    kind: 'sentiment',
    step: 'sentiment-analyzer_analyze_sentiment',
    output: { sentiment: sentiment.sentiment, confidence: sentiment.confidence, urgency: sentiment.urgency, signals: sentiment.signals.map((s) => `${s.type}: ${s.match}`) },
    decision: `${sentiment.sentiment} (${sentiment.confidence}), urgency ${sentiment.urgency}`,
    durationMs: classification.method === 'rules' ? total / 2 : undefined,
  });
  await appendEvent(q, ticket.id, {
    actor: 'real-classifier',
    kind: 'classification',
    step: 'real-classifier_classify_ticket',
    status: classification.fallback ? 'failed' : 'ok',
    output: { category: classification.category, categoryConfidence: classification.categoryConfidence, priority: classification.priority, method: classification.method, alternatives: classification.alternatives, disagreement: classification.disagreement },
    decision: [
      `${classification.category} (${classification.categoryConfidence}), priority ${classification.priority}`,
      ...classification.reasons,
      ...(classification.fallback ? [`fallback: ${classification.fallback}`] : []),
    ].join('; '),
    durationMs: classification.method === 'rules' ? total / 2 : total,
  });
  const patch = {
    category: classification.category,
    priority: classification.priority,
    sentiment: sentiment.sentiment,
    urgency: sentiment.urgency,
    confidence: classification.categoryConfidence,
    needsHuman: classification.needsHuman,
  };
  return ['new', 'reopened', 'escalated', 'triaged'].includes(ticket.status) ? transition(q, ticket, 'triaged', actor, patch) : updateTicket(q, ticket.id, patch);
}
