import { z } from 'zod';
import { workflowToolName } from '../../workflows/types.js';
import { TwlError } from '../../runtime/errors.js';
import { defineOp } from '../op.js';
import { outcomeSchema } from './schemas.js';

export default defineOp({
  id: 'workflow.run',
  mcpName: 'workflow_run',
  title: 'Run a workflow',
  description:
    'Runs a workflow by name with its input (the same as calling its tool workflow_<name>): each step in order, recorded. A step whose tool needs approval asks (a terminal prompt, --yes, MCP elicitation); with nobody to answer, the run ends waiting_approval and says how to go on. A gate may stop the run (status stopped). A failed, cancelled or waiting run is an error naming the run and the step.',
  input: z.object({ name: z.string().min(1).max(60), input: z.record(z.string(), z.unknown()).default({}) }),
  output: outcomeSchema,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  // Each step's tool checks the caller's role and asks for its own approval; the run's time is bounded by its steps' timeouts.
  policy: { minRole: 'viewer', needsApproval: false, timeoutMs: 24 * 3600_000 },
  async run(ctx, { name, input }) {
    const tool = workflowToolName(name);
    const found = await ctx.tools.get(tool, { namespaces: ctx.namespaces });
    if (!found || found.source !== 'workflow') {
      throw new TwlError('TWL_WORKFLOW_UNKNOWN', `No workflow named ${JSON.stringify(name.slice(0, 60))}${found ? '' : ' (or it was left out: `twl workflow validate` says why)'}.`);
    }
    const result = await ctx.tools.call(tool, input, { face: ctx.face, actor: ctx.actor, role: ctx.role, namespaces: ctx.namespaces, keyId: ctx.keyId, grantExpiresAt: ctx.grantExpiresAt, signal: ctx.signal, ask: ctx.ask, warn: ctx.warn, progress: ctx.progress, llm: ctx.llm() });
    return result.structured as z.output<typeof outcomeSchema>;
  },
});
