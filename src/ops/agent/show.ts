import { z } from 'zod';
import { agentAllowedFrom, childrenOf, getAgent } from '../../studio/agents.js';
import { runsOf } from '../../studio/agents-run.js';
import { defineOp, readOnly } from '../op.js';
import { agentName, agentSchema, runSchema, seenBy } from './schemas.js';

export default defineOp({
  id: 'agent.show',
  mcpName: 'agent_show',
  title: 'Show an agent',
  description:
    'One agent: its fields, status and why, the statuses it may go to next, the agents it leads, and its latest runs. A key granted namespaces is not shown the tool globs and declared steps that name tools outside them (`hidden` counts them), and sees only the runs it made itself (another caller\'s may hold what tools outside them returned).',
  input: z.object({ name: agentName, runs: z.number().int().min(0).max(100).default(10).describe('How many of its latest runs to show.') }),
  output: z.object({ agent: agentSchema, next: z.array(z.string()), children: z.array(z.string()), runs: z.array(runSchema) }),
  annotations: readOnly,
  policy: { minRole: 'viewer', needsApproval: false, timeoutMs: 15_000 },
  async run(ctx, { name, runs }) {
    const store = await ctx.store();
    const agent = await getAgent(store, name);
    return { agent: await seenBy(ctx, agent), next: await agentAllowedFrom(store, agent.status), children: (await childrenOf(store, name)).map((c) => c.name), runs: await runsOf(store, name, runs, ctx.namespaces ? ctx.actor : undefined) };
  },
});
