import { z } from 'zod';
import { agentAllowedFrom, childrenOf, getAgent } from '../../studio/agents.js';
import { runsOf } from '../../studio/agents-run.js';
import { defineOp, readOnly } from '../op.js';
import { agentName, agentSchema, runSchema } from './schemas.js';

export default defineOp({
  id: 'agent.show',
  mcpName: 'agent_show',
  title: 'Show an agent',
  description: 'One agent: its fields, status and why, the statuses it may go to next, the agents it leads, and its latest runs.',
  input: z.object({ name: agentName, runs: z.number().int().min(0).max(100).default(10).describe('How many of its latest runs to show.') }),
  output: z.object({ agent: agentSchema, next: z.array(z.string()), children: z.array(z.string()), runs: z.array(runSchema) }),
  annotations: readOnly,
  policy: { minRole: 'viewer', needsApproval: false, timeoutMs: 15_000 },
  async run(ctx, { name, runs }) {
    const store = await ctx.store();
    const agent = await getAgent(store, name);
    return { agent, next: await agentAllowedFrom(store, agent.status), children: (await childrenOf(store, name)).map((c) => c.name), runs: await runsOf(store, name, runs) };
  },
});
