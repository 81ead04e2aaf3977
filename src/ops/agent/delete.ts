import { z } from 'zod';
import { deleteAgent } from '../../studio/agents-service.js';
import { defineOp } from '../op.js';
import { agentName, agentResult, seenBy } from './schemas.js';

export default defineOp({
  id: 'agent.delete',
  mcpName: 'agent_delete',
  title: 'Delete an agent',
  description: 'Deletes an agent. Refused while it leads other agents (delete them or give them another parent first) or is busy. The records of its runs stay.',
  input: z.object({ name: agentName }),
  output: agentResult,
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
  policy: { minRole: 'manager', needsApproval: false, timeoutMs: 30_000 },
  async run(ctx, { name }) {
    return { agent: await seenBy(ctx, await deleteAgent(ctx.runtime, name)) };
  },
});
