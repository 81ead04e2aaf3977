import { z } from 'zod';
import { defineOp } from '../op.js';
import { requireLlm } from '../maestro/llm-required.js';
import { redactUrl } from '../../runtime/redact.js';

export default defineOp({
  id: 'llm.models',
  mcpName: 'monitoring_list_models',
  title: 'List LLM models',
  description: 'The models installed on the configured Ollama server, with size, family, parameters and quantization.',
  input: z.object({}),
  output: z.object({
    host: z.string(),
    models: z.array(z.object({ name: z.string(), sizeBytes: z.number(), modifiedAt: z.string(), family: z.string().nullable(), parameters: z.string().nullable(), quantization: z.string().nullable() })),
  }),
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  policy: { minRole: 'viewer', needsApproval: false, timeoutMs: 30_000 },
  async run(ctx) {
    const llm = requireLlm(ctx);
    const { models } = await llm.models();
    return {
      host: redactUrl(llm.host),
      models: models.map((m) => ({
        name: m.name,
        sizeBytes: m.size,
        modifiedAt: new Date(m.modified_at).toISOString(),
        family: m.details?.family ?? null,
        parameters: m.details?.parameter_size ?? null,
        quantization: m.details?.quantization_level ?? null,
      })),
    };
  },
});
