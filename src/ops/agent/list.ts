import { z } from 'zod';
import { agentsSeenBy } from '../../studio/agent-view.js';
import { agentKinds, agentStatuses, listAgents } from '../../studio/agents.js';
import { defineOp, readOnly } from '../op.js';
import { agentSchema } from './schemas.js';

export default defineOp({
  id: 'agent.list',
  mcpName: 'agent_list',
  title: 'List agents',
  description:
    'The agents, by name: kind, parent, status (pending_validation, active, busy, inactive, error) and why, tools and model. A key granted namespaces is not shown the tool globs and declared steps that name tools outside them (`hidden` counts them).',
  input: z.object({
    status: z.array(z.enum(agentStatuses)).max(5).optional().describe('Only agents in these statuses.'),
    kind: z.array(z.enum(agentKinds)).max(3).optional().describe('Only agents of these kinds.'),
  }),
  output: z.object({ agents: z.array(agentSchema) }),
  annotations: readOnly,
  policy: { minRole: 'viewer', needsApproval: false, timeoutMs: 15_000 },
  async run(ctx, input) {
    return { agents: await agentsSeenBy(ctx.tools, await listAgents(await ctx.store(), input), ctx.namespaces) };
  },
});
