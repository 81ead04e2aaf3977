import { z } from 'zod';
import { defineOp } from '../op.js';
import { requireLlm } from './llm-required.js';

export default defineOp({
  id: 'maestro.generate',
  mcpName: 'maestro_generate',
  title: 'Generate text with the LLM',
  description: 'Generates text from a prompt (and an optional system prompt) with the configured Ollama model. Fails clearly when no LLM is configured or reachable.',
  input: z.object({ prompt: z.string().trim().min(1, 'expected a prompt').max(100_000), system: z.string().max(20_000).optional() }),
  output: z.object({ text: z.string(), model: z.string(), durationMs: z.number() }),
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  policy: { minRole: 'operator', needsApproval: false, timeoutMs: 300_000 },
  async run(ctx, { prompt, system }) {
    const llm = requireLlm(ctx);
    const started = performance.now();
    const res = await llm.generate(prompt, { system, signal: ctx.signal });
    return { text: res.response ?? '', model: res.model, durationMs: Math.round(performance.now() - started) };
  },
});
