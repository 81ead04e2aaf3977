import { z } from 'zod';
import { readActivity } from '../../ui/activity.js';
import { WINDOW_MINUTES } from '../../ui/source.js';
import { defineOp, readOnly } from '../op.js';

const group = z.object({
  group: z.string().describe('The tool group: the part of the MCP name before the first underscore (cache_cache_get → cache), or all.'),
  perMinute: z.array(z.number().int()).describe(`Calls per minute, oldest first, ${WINDOW_MINUTES} buckets (the last one is the last 60 s).`),
  calls: z.number().int(),
  errors: z.number().int(),
  errorRate: z.number().describe('errors / calls over the window (0 without calls).'),
  p95Ms: z.number().nullable().describe('95th percentile of the durations over the window, in ms (null without calls).'),
});

export default defineOp({
  id: 'dash.activity',
  mcpName: 'dash_get_activity',
  title: 'Op activity of the last 15 minutes',
  description:
    `Op calls of every twl process (CLI, MCP, HTTP, workers) over the last ${WINDOW_MINUTES} minutes, per tool group and overall: calls per minute, p95 latency and error rate. ` +
    'What the activity panel of `twl dash` shows; `twl dash --url` reads it through this tool.',
  input: z.object({}),
  output: z.object({ at: z.string(), windowMinutes: z.number().int(), all: group, groups: z.array(group) }),
  annotations: readOnly,
  policy: { minRole: 'viewer', needsApproval: false, timeoutMs: 15_000 },
  async run(ctx) {
    return readActivity(await ctx.store());
  },
});
