import type { Runtime } from '../runtime/context.js';
import { TwlError } from '../runtime/errors.js';
import type { CatalogTool, ToolLookupSource, ToolResult, WorkflowTool } from '../tools/types.js';
import { WorkflowRun, type RunOutcome } from './engine.js';
import { loadWorkflows } from './load.js';
import { workflowToolName } from './types.js';
import { problemLine, type ToolLookup, type ValidWorkflow } from './validate.js';

/** The catalog's view of its own tools as validation needs it. */
export const lookupOf = (tools: ToolLookupSource): ToolLookup => ({ get: (name) => tools.get(name), names: () => tools.names() });

/** A run as a tool's result: the outcome with each step's path, kind, status, decision and duration (outputs: `twl workflow show RUN`). */
export function outcomeResult(outcome: RunOutcome): Record<string, unknown> {
  return {
    run: outcome.run,
    workflow: outcome.workflow,
    status: outcome.status,
    output: outcome.output,
    step: outcome.step,
    error: outcome.error,
    ...(outcome.message ? { message: outcome.message } : {}),
    durationMs: Math.round(outcome.durationMs * 100) / 100,
    steps: outcome.steps.map((s) => ({ path: s.path, kind: s.kind, status: s.status, ...(s.decision ? { decision: s.decision.decision } : {}), ...(s.error ? { error: s.error } : {}), durationMs: s.durationMs })),
  };
}

/** A run that did not complete or stop at a gate, as the error its caller sees (the run id and step in it). */
export function outcomeError(outcome: RunOutcome): TwlError {
  const details = outcomeResult(outcome);
  const where = outcome.step ? ` at step ${outcome.step}` : '';
  if (outcome.status === 'waiting_approval') return new TwlError('TWL_APPROVAL_REQUIRED', `Workflow ${outcome.workflow} (run ${outcome.run}) waits for approval${where}. ${outcome.message ?? ''}`.trim(), { details });
  if (outcome.status === 'cancelled') return new TwlError('TWL_INTERRUPTED', `Workflow ${outcome.workflow} (run ${outcome.run}) was cancelled${where}.`, { details, actions: [`See what ran with \`twl workflow show ${outcome.run}\`.`] });
  return new TwlError('TWL_WORKFLOW_FAILED', `Workflow ${outcome.workflow} (run ${outcome.run}) failed${where}: ${outcome.error?.message ?? 'no detail'}`, { details, actions: [`See every step with \`twl workflow show ${outcome.run}\`.`] });
}

/** A validated workflow as the catalog tool `workflow_<name>`. */
export function workflowTool(runtime: Runtime, w: ValidWorkflow): WorkflowTool {
  const { def } = w;
  const tool: CatalogTool = {
    name: workflowToolName(def.name),
    title: def.title ?? `Workflow ${def.name}`,
    description: `${def.description ?? def.title ?? `The workflow ${def.name}`} (a twl workflow of ${def.steps.length} step${def.steps.length === 1 ? '' : 's'}: ${def.steps.map((s) => s.id).join(', ')}; every run is recorded: twl workflow show RUN).`,
    inputSchema: def.input,
    annotations: w.annotations,
    minRole: w.minRole,
    needsApproval: w.needsApproval,
    source: 'workflow',
  };
  return {
    tool,
    async run(input, options, catalog): Promise<ToolResult> {
      const outcome = await new WorkflowRun(def, runtime, catalog, options).run(input);
      if (outcome.status !== 'completed' && outcome.status !== 'stopped') throw outcomeError(outcome);
      const structured = outcomeResult(outcome);
      return { structured, content: [{ type: 'text', text: JSON.stringify(structured) }] };
    },
  };
}

/**
 * The catalog's workflow provider: every valid workflow as a tool; each one left out is said on
 * stderr with its file, step and problem (`twl serve` starts anyway).
 */
export function workflowsOf(runtime: Runtime): (tools: ToolLookupSource) => Promise<WorkflowTool[]> {
  return async (tools) => {
    const loaded = await loadWorkflows(runtime.loaded, lookupOf(tools));
    for (const p of loaded.problems) runtime.logger.warn(`workflow skipped: ${problemLine(p)}`);
    return loaded.workflows.map((w) => workflowTool(runtime, w));
  };
}
