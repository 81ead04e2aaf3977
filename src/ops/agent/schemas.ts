import { z } from 'zod';
import type { OpContext } from '../../runtime/context.js';
import { agentsSeenBy, type SeenAgent } from '../../studio/agent-view.js';
import { AGENT_NAME, agentKinds, agentStatuses, type Agent } from '../../studio/agents.js';

export const agentName = z.string().regex(AGENT_NAME, 'expected an agent name: a lowercase letter, then lowercase letters, digits, - and _ (up to 48)').describe('The agent\'s name.');
/** A tool glob over the catalog's names (picomatch): `monitoring_*`, `database_db_health`. */
export const toolGlob = z.string().min(1).max(200).regex(/^[A-Za-z0-9_*?.{},[\]!-]+$/, 'expected a tool name or glob: letters, digits, _ - . and * ? [ ] { } ,');

export const stepsInput = z
  .union([
    z.object({ workflow: z.string().regex(/^[a-z][a-z0-9-]{0,47}$/, 'expected a workflow name') }).strict(),
    z.object({ tools: z.array(z.object({ tool: z.string().min(1).max(200), input: z.record(z.string(), z.unknown()).optional() }).strict()).min(1).max(50) }).strict(),
  ])
  .describe('What it runs without an LLM: {workflow: NAME} (the catalog tool workflow_NAME) or {tools: [{tool, input}]} (called in order).');

export const agentSchema = z.object({
  name: z.string(),
  kind: z.enum(agentKinds),
  parent: z.string().nullable(),
  instructions: z.string(),
  tools: z.array(z.string()),
  model: z.string().nullable(),
  policy: z.object({ preapprove: z.array(z.string()).optional() }),
  steps: z.object({ workflow: z.string().optional(), tools: z.array(z.object({ tool: z.string(), input: z.record(z.string(), z.unknown()).optional() })).optional() }).nullable(),
  status: z.enum(agentStatuses),
  reason: z.string().nullable().describe('Why it is in its status: who activated it, what activation found, how its last run failed.'),
  createdBy: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
  hidden: z
    .object({
      tools: z.number().int().describe('Tool globs left out of `tools`.'),
      preapprove: z.number().int().describe('Globs left out of `policy.preapprove`.'),
      steps: z.number().int().describe('Declared steps (a tool call, or the workflow) left out of `steps`.'),
      reason: z.boolean().describe('Whether `reason` was withheld (null above) because it quotes one of them.'),
    })
    .optional()
    .describe(
      'Only for a key granted namespaces: what of the agent names tools it cannot reach (a glob matching none of its tools, a step of a tool outside them, wherever that tool is or whether it exists), left out above and counted here, never named.',
    ),
});

export const agentResult = z.object({ agent: agentSchema });

/** An agent as the caller is shown it: for a key granted namespaces, without what names tools outside them (see agent-view.ts). */
export const seenBy = async (ctx: Pick<OpContext, 'tools' | 'namespaces'>, agent: Agent): Promise<SeenAgent> => (await agentsSeenBy(ctx.tools, [agent], ctx.namespaces))[0]!;

export const runSchema = z.object({
  id: z.number().int(),
  agent: z.string(),
  parentRun: z.number().int().nullable(),
  executionId: z.number().int().nullable(),
  prompt: z.string(),
  status: z.enum(['waiting', 'running', 'completed', 'failed', 'lost']),
  mode: z.enum(['llm', 'steps']).nullable(),
  actor: z.string(),
  startedAt: z.string(),
  endedAt: z.string().nullable(),
  output: z.string().nullable(),
  error: z.string().nullable(),
});

export const stepSchema = z.object({
  id: z.number().int(),
  runId: z.number().int(),
  agent: z.string(),
  at: z.string(),
  kind: z.enum(['model', 'tool', 'delegate', 'refused', 'step']),
  name: z.string().nullable(),
  input: z.unknown(),
  output: z.unknown(),
  ok: z.boolean(),
  error: z.string().nullable(),
  ms: z.number(),
});

/** The annotations of a verb that changes an agent. */
export const changesAgent = { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false } as const;
