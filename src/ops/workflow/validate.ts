import { z } from 'zod';
import { TwlError } from '../../runtime/errors.js';
import { loadWorkflows } from '../../workflows/load.js';
import { problemLine } from '../../workflows/validate.js';
import { workflowToolName } from '../../workflows/types.js';
import { defineOp, readOnly } from '../op.js';
import { problemSchema, toolLookup } from './schemas.js';

export default defineOp({
  id: 'workflow.validate',
  mcpName: 'workflow_validate',
  title: 'Validate workflows',
  description:
    'Checks every workflow (workflows/*.yaml beside the configuration file and `workflows:` in it), or one file: the schema of each step kind, unique step ids, tools the catalog has (with the nearest name when not), expressions that compile and name only earlier steps. Each problem names the file (and line), the workflow, the step (its id path) and what is wrong.',
  input: z.object({ file: z.string().min(1).max(4096).optional().describe('Only this YAML file (the CLI only: a served twl reads no file a caller names).') }),
  output: z.object({ valid: z.array(z.object({ name: z.string(), tool: z.string(), file: z.string(), steps: z.number().int() })), problems: z.array(problemSchema) }),
  annotations: readOnly,
  policy: { minRole: 'viewer', needsApproval: false, timeoutMs: 60_000 },
  async run(ctx, { file }) {
    if (file && ctx.face !== 'cli') throw new TwlError('TWL_INPUT_INVALID', 'file is read on the command line only: a served twl validates its own workflows (call this without file).');
    const loaded = await loadWorkflows(ctx.runtime.loaded, toolLookup(ctx), file ? [file] : undefined);
    const valid = loaded.workflows.map((w) => ({ name: w.def.name, tool: workflowToolName(w.def.name), file: w.def.file, steps: w.def.steps.length }));
    if (loaded.problems.length) {
      throw new TwlError('TWL_WORKFLOW_INVALID', `${loaded.problems.length} problem${loaded.problems.length === 1 ? '' : 's'} in the workflows:\n${loaded.problems.map((p) => `  - ${problemLine(p)}`).join('\n')}`, { details: { valid, problems: loaded.problems } });
    }
    return { valid, problems: [] };
  },
});
