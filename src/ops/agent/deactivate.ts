import { z } from 'zod';
import { deactivateAgent } from '../../studio/agents-service.js';
import { defineOp } from '../op.js';
import { agentName, agentResult, changesAgent, seenBy } from './schemas.js';

export default defineOp({
  id: 'agent.deactivate',
  mcpName: 'agent_deactivate',
  title: 'Deactivate an agent',
  description: 'Makes an agent inactive: it runs no more (its parent no longer delegates to it) until activated again. Refused while it is busy with a run.',
  input: z.object({ name: agentName }),
  output: agentResult,
  annotations: changesAgent,
  policy: { minRole: 'manager', needsApproval: false, timeoutMs: 30_000 },
  async run(ctx, { name }) {
    return { agent: await seenBy(ctx, await deactivateAgent(ctx.runtime, name, ctx.actor)) };
  },
});
