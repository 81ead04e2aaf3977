import { z } from 'zod';
import { defineOp } from '../op.js';
import { requireLlm } from './llm-required.js';

export default defineOp({
  id: 'maestro.chat',
  mcpName: 'maestro_chat',
  title: 'Chat with the LLM',
  description: 'One chat turn with the configured Ollama model, with an optional earlier conversation. Fails clearly when no LLM is configured or reachable.',
  input: z.object({
    message: z.string().trim().min(1, 'expected a message').max(50_000),
    history: z.array(z.object({ role: z.enum(['system', 'user', 'assistant']), content: z.string() })).max(100).default([]),
  }),
  output: z.object({ reply: z.string(), model: z.string(), durationMs: z.number() }),
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  policy: { minRole: 'operator', needsApproval: false, timeoutMs: 300_000 },
  async run(ctx, { message, history }) {
    const llm = requireLlm(ctx);
    const started = performance.now();
    const res = await llm.chat([...history, { role: 'user', content: message }], { signal: ctx.signal });
    return { reply: res.message.content, model: res.model, durationMs: Math.round(performance.now() - started) };
  },
});
