import { z } from 'zod';
import { healthReport } from '../../agents/monitoring/health.js';
import { TwlError } from '../../runtime/errors.js';
import { defineOp } from '../op.js';
import { healthSchema } from './schemas.js';

export default defineOp({
  id: 'monitoring.health',
  mcpName: 'monitoring_health_check',
  title: 'Check the health of services',
  description:
    'Checks every configured service (HTTP, TCP, process, container, systemd unit, PostgreSQL, Redis) and twl\'s own dependencies (store, cache, LLM): ok, degraded or down, with latency and the detail. ' +
    'Overall status is the worst of them, except that a dependency of twl\'s own that is down makes it degraded (twl still answers, and reconnects when it is back).',
  input: z.object({
    services: z.array(z.string()).optional().describe('Only these services (by name); then twl\'s dependencies are left out.'),
  }),
  output: z.object({ status: z.enum(['ok', 'degraded', 'down']), checkedAt: z.string(), services: z.array(healthSchema), dependencies: z.array(healthSchema) }),
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  policy: { minRole: 'viewer', needsApproval: false, timeoutMs: 60_000 },
  async run(ctx, { services }) {
    const unknown = (services ?? []).filter((n) => !ctx.config.services.some((s) => s.name === n));
    if (unknown.length) throw new TwlError('TWL_SERVICE_UNKNOWN', `No configured service named ${unknown.map((n) => `"${n}"`).join(', ')}. Configured: ${ctx.config.services.map((s) => s.name).join(', ') || 'none'}.`);
    return { checkedAt: new Date().toISOString(), ...(await healthReport(ctx, services)) };
  },
});
