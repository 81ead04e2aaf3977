import { z } from 'zod';
import { TwlError } from '../../runtime/errors.js';
import { agentKinds } from '../../studio/agents.js';
import { editAgent } from '../../studio/agents-service.js';
import { defineOp } from '../op.js';
import { agentName, agentResult, changesAgent, seenBy, stepsInput, toolGlob } from './schemas.js';

export default defineOp({
  id: 'agent.edit',
  mcpName: 'agent_edit',
  title: 'Edit an agent',
  description:
    'Changes an agent: kind, parent (checked: no cycle, a parent of the right kind), instructions, tools, model, pre-approved tools, steps. ' +
    'A change of its tools, model or steps sends it back to pending_validation (activate it again). Refused while it is busy.',
  input: z.object({
    name: agentName,
    kind: z.enum(agentKinds).optional(),
    parent: agentName.nullable().optional().describe('Its new parent (null: none, for a master).'),
    instructions: z.string().max(100_000).optional(),
    tools: z.array(toolGlob).max(100).optional(),
    model: z.string().min(1).max(200).nullable().optional().describe('Its model (null: llm.model).'),
    preapprove: z.array(toolGlob).max(100).optional(),
    steps: stepsInput.nullable().optional(),
  }),
  output: agentResult,
  annotations: { ...changesAgent, idempotentHint: true },
  policy: { minRole: 'manager', needsApproval: false, timeoutMs: 30_000 },
  async run(ctx, { name, preapprove, ...rest }) {
    const patch = Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined));
    if (!Object.keys(patch).length && preapprove === undefined) throw new TwlError('TWL_INPUT_INVALID', `Nothing to change on ${name}.`, { actions: ['Give at least one of --kind, --parent, --instructions, --tools, --model, --preapprove, --steps.'] });
    return { agent: await seenBy(ctx, await editAgent(ctx.runtime, name, { ...patch, ...(preapprove !== undefined ? { policy: { preapprove } } : {}) }, ctx.actor)) };
  },
});
