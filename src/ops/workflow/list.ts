import { z } from 'zod';
import { roleAllows } from '../../http/roles.js';
import { loadWorkflows } from '../../workflows/load.js';
import { workflowToolName } from '../../workflows/types.js';
import { defineOp, readOnly } from '../op.js';
import { problemSchema, toolLookup, workflowSummary } from './schemas.js';

export default defineOp({
  id: 'workflow.list',
  mcpName: 'workflow_list',
  title: 'List workflows',
  description: 'The workflows this twl runs (each also the tool workflow_<name>), with their steps, input schema, least role and whether a step asks for approval; and those left out, with the reason.',
  input: z.object({}),
  output: z.object({ workflows: z.array(workflowSummary), skipped: z.array(problemSchema) }),
  annotations: readOnly,
  policy: { minRole: 'viewer', needsApproval: false, timeoutMs: 60_000 },
  async run(ctx) {
    const loaded = await loadWorkflows(ctx.runtime.loaded, toolLookup(ctx));
    const workflows = loaded.workflows
      .filter((w) => ctx.role === undefined || roleAllows(w.minRole, ctx.role))
      .map(({ def, minRole, needsApproval }) => ({ name: def.name, tool: workflowToolName(def.name), title: def.title ?? null, description: def.description ?? null, file: def.file, steps: def.steps.map((s) => s.id), minRole, needsApproval, input: def.input }));
    return { workflows, skipped: loaded.problems };
  },
});
