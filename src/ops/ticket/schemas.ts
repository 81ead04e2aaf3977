import { z } from 'zod';
import { statuses } from '../../agents/tickets/repo.js';
import { categories, priorities, sentiments, urgencies } from '../../agents/triage/taxonomy.js';

export const ticketId = z.number().int().positive('expected a ticket id (a positive whole number)').describe('The ticket number.');

export const ticketSchema = z.object({
  id: z.number().int(),
  title: z.string(),
  text: z.string(),
  requester: z.string().nullable(),
  source: z.string(),
  status: z.enum(statuses),
  category: z.enum(categories).nullable(),
  priority: z.enum(priorities).nullable(),
  sentiment: z.enum(sentiments).nullable(),
  urgency: z.enum(urgencies).nullable(),
  confidence: z.number().nullable(),
  needsHuman: z.boolean(),
  assignedAgent: z.string().nullable(),
  resolution: z.string().nullable(),
  escalationReason: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
  resolvedAt: z.string().nullable(),
  closedAt: z.string().nullable(),
});

export const eventSchema = z.object({
  id: z.number().int(),
  at: z.string(),
  actor: z.string(),
  kind: z.string(),
  step: z.string().nullable(),
  status: z.enum(['ok', 'failed', 'skipped', 'cancelled', 'waiting']),
  input: z.unknown(),
  output: z.unknown(),
  decision: z.string().nullable(),
  durationMs: z.number().nullable(),
});

export const signalSchema = z.object({
  type: z.string(),
  match: z.string(),
  effect: z.enum(['negative', 'positive', 'urgency+', 'urgency-']),
  weight: z.number(),
});

export const sentimentSchema = z.object({
  sentiment: z.enum(sentiments),
  confidence: z.number(),
  urgency: z.enum(urgencies),
  urgencyConfidence: z.number(),
  signals: z.array(signalSchema).describe('Why: the words and marks that moved the result.'),
});

export const classificationSchema = z.object({
  category: z.enum(categories),
  categoryConfidence: z.number(),
  priority: z.enum(priorities),
  priorityConfidence: z.number(),
  reasons: z.array(z.string()),
  needsHuman: z.boolean().describe('Low confidence: a human should check the category.'),
  alternatives: z.array(z.object({ category: z.enum(categories), confidence: z.number() })),
  sentiment: sentimentSchema,
  method: z.enum(['rules', 'llm']),
  fallback: z.string().nullable().describe('Why the LLM answer was not used, if one was asked.'),
  disagreement: z
    .object({ model: z.object({ category: z.enum(categories), priority: z.enum(priorities) }), llm: z.object({ category: z.enum(categories), priority: z.enum(priorities) }) })
    .nullable()
    .describe("The model's and the LLM's labels, when the LLM's answer was used and differs."),
});

/** Who acts: a CLI user, an MCP or REST caller, or an agent. */
export const actorOf = (ctx: { actor: string }) => ctx.actor;
