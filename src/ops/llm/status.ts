import { z } from 'zod';
import { messageOf } from '../../runtime/errors.js';
import { defineOp } from '../op.js';
import { redactText, redactUrl } from '../../runtime/redact.js';

export default defineOp({
  id: 'llm.status',
  mcpName: 'monitoring_get_llm_status',
  title: 'LLM status',
  description: 'Whether the configured Ollama server answers, its version, the configured model and whether it is installed, and the models loaded in memory.',
  input: z.object({}),
  output: z.object({
    configured: z.boolean(),
    host: z.string().nullable(),
    model: z.string().nullable(),
    reachable: z.boolean(),
    version: z.string().nullable(),
    modelInstalled: z.boolean().nullable(),
    loaded: z.array(z.string()),
    detail: z.string(),
  }),
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  policy: { minRole: 'viewer', needsApproval: false, timeoutMs: 30_000 },
  async run(ctx) {
    const llm = ctx.llm();
    if (!llm || llm.via !== 'ollama') return { configured: false, host: null, model: null, reachable: false, version: null, modelInstalled: null, loaded: [], detail: llm ? 'No Ollama configured (llm.host); this MCP client lends its own model through sampling, which Maestro uses.' : 'No LLM configured (llm.host): the rule-based agents do the work.' };
    try {
      const [version, list, ps] = await Promise.all([llm.version(), llm.models(), llm.loaded()]);
      const installed = list.models.some((m) => m.name === llm.model || m.name.startsWith(`${llm.model}:`));
      return {
        configured: true,
        host: redactUrl(llm.host),
        model: llm.model,
        reachable: true,
        version,
        modelInstalled: installed,
        loaded: ps.models.map((m) => m.name),
        detail: installed ? `Ollama ${version}; ${llm.model} is installed` : `Ollama ${version}; ${llm.model} is NOT installed (ollama pull ${llm.model})`,
      };
    } catch (err) {
      return { configured: true, host: redactUrl(llm.host), model: llm.model, reachable: false, version: null, modelInstalled: null, loaded: [], detail: redactText(messageOf(err)) };
    }
  },
});
