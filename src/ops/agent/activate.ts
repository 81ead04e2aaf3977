import { z } from 'zod';
import { activateAgent } from '../../studio/agents-service.js';
import { defineOp } from '../op.js';
import { agentName, agentResult, changesAgent, seenBy } from './schemas.js';

export default defineOp({
  id: 'agent.activate',
  mcpName: 'agent_activate',
  title: 'Activate an agent',
  description:
    'Checks an agent and makes it active: each of its tool globs must match a tool of the catalog, its model (when set) must be on the LLM server, its declared steps must exist. ' +
    'When a check fails the agent goes to error with the reasons, and the call fails naming each one. ' +
    'For a key granted namespaces, the tools within them stand for the catalog, and globs and steps naming none of them are counted, not named.',
  input: z.object({ name: agentName }),
  output: agentResult,
  annotations: { ...changesAgent, openWorldHint: true },
  policy: { minRole: 'manager', needsApproval: false, timeoutMs: 60_000 },
  async run(ctx, { name }) {
    return { agent: await seenBy(ctx, await activateAgent(ctx.runtime, name, ctx.actor, ctx.namespaces)) };
  },
});
