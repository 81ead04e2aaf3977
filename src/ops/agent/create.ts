import { z } from 'zod';
import { agentKinds } from '../../studio/agents.js';
import { createAgent } from '../../studio/agents-service.js';
import { defineOp } from '../op.js';
import { agentName, agentResult, changesAgent, seenBy, stepsInput, toolGlob } from './schemas.js';

export default defineOp({
  id: 'agent.create',
  mcpName: 'agent_create',
  title: 'Create an agent',
  description:
    'Creates an agent of the hierarchy: a master (no parent), a supervisor (under a master or supervisor) or a worker (under a supervisor or master), ' +
    'with its instructions, the tools it may call (`tools`: globs over the tool catalog, intersected with the caller\'s role when it runs), its model (an Ollama model; default llm.model), ' +
    'the tools that change things it may call without asking (`preapprove`), and the steps it runs without an LLM (`steps`). It starts pending_validation: `agent activate` checks it and makes it active.',
  input: z.object({
    name: agentName,
    kind: z.enum(agentKinds).describe('master, supervisor or worker.'),
    parent: agentName.optional().describe('The agent that leads it (not for a master).'),
    instructions: z.string().max(100_000).default('').describe('Its instructions (the system prompt of its runs).'),
    tools: z.array(toolGlob).max(100).default([]).describe('Tool globs it may call, e.g. ["monitoring_*", "database_db_health"].'),
    model: z.string().min(1).max(200).optional().describe('Its Ollama model (checked at activation); default: llm.model.'),
    preapprove: z.array(toolGlob).max(100).default([]).describe('Tools that change things it calls without asking (globs).'),
    steps: stepsInput.optional(),
  }),
  output: agentResult,
  annotations: changesAgent,
  policy: { minRole: 'manager', needsApproval: false, timeoutMs: 30_000 },
  async run(ctx, input) {
    const agent = await createAgent(ctx.runtime, {
      name: input.name,
      kind: input.kind,
      parent: input.parent ?? null,
      instructions: input.instructions,
      tools: input.tools,
      model: input.model ?? null,
      policy: input.preapprove.length ? { preapprove: input.preapprove } : {},
      steps: input.steps ?? null,
      createdBy: ctx.actor,
    });
    return { agent: await seenBy(ctx, agent) };
  },
});
