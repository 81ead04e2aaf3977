import { z } from 'zod';
import type { OpContext } from '../../runtime/context.js';
import { runStatuses, stepStatuses } from '../../workflows/types.js';
import type { ToolLookup } from '../../workflows/validate.js';
import { roles } from '../op.js';

export const problemSchema = z.object({ file: z.string(), workflow: z.string().optional(), step: z.string().optional(), line: z.number().int().optional(), problem: z.string() });

export const workflowSummary = z.object({
  name: z.string(),
  tool: z.string().describe('Its catalog and MCP tool: workflow_<name>.'),
  title: z.string().nullable(),
  description: z.string().nullable(),
  file: z.string(),
  steps: z.array(z.string()).describe('The top-level step ids, in order.'),
  minRole: z.enum(roles),
  needsApproval: z.boolean(),
  input: z.record(z.string(), z.unknown()).describe('The JSON Schema of its input.'),
});

const errorSchema = z.object({ code: z.string(), message: z.string() }).nullable();

export const runSchema = z.object({
  id: z.number().int(),
  workflow: z.string(),
  status: z.enum(runStatuses),
  input: z.unknown(),
  output: z.unknown(),
  error: errorSchema,
  step: z.string().nullable().describe('The step running when the run ended other than completed (or the gate that stopped it).'),
  actor: z.string(),
  face: z.string(),
  startedAt: z.string(),
  finishedAt: z.string().nullable(),
  durationMs: z.number().nullable(),
});

export const stepRecordSchema = z.object({
  seq: z.number().int(),
  parent: z.number().int().nullable(),
  path: z.string(),
  id: z.string(),
  kind: z.string(),
  status: z.enum(stepStatuses),
  input: z.unknown(),
  output: z.unknown(),
  decision: z.object({ decision: z.string(), detail: z.unknown().optional() }).nullable(),
  error: errorSchema,
  startedAt: z.string(),
  durationMs: z.number().nullable(),
});

/** A run's outcome as `workflow run` and `workflow_<name>` answer it. */
export const outcomeSchema = z.object({
  run: z.number().int(),
  workflow: z.string(),
  status: z.enum(runStatuses),
  output: z.unknown(),
  step: z.string().nullable(),
  error: errorSchema,
  message: z.string().optional(),
  durationMs: z.number(),
  steps: z.array(z.object({ path: z.string(), kind: z.string(), status: z.enum(stepStatuses), decision: z.string().optional(), error: z.object({ code: z.string(), message: z.string() }).optional(), durationMs: z.number().nullable() })),
});

/** The op's catalog as validation needs it: tools by name, and every name for hints (twl's and the upstreams', never workflows). */
export const toolLookup = (ctx: OpContext): ToolLookup =>
  ({
    get: async (name) => (name.startsWith('workflow_') ? undefined : ctx.tools.get(name)),
    names: async () => (await Promise.all([ctx.tools.list({ source: 'twl' }), ctx.tools.list({ source: 'upstream' })])).flat().map((t) => t.name),
  });
