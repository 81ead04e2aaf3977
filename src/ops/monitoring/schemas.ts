import { z } from 'zod';

export const healthSchema = z.object({
  name: z.string(),
  kind: z.string(),
  target: z.string(),
  status: z.enum(['ok', 'degraded', 'down']),
  latencyMs: z.number().nullable(),
  detail: z.string(),
});
