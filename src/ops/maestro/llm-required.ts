import type { OpContext } from '../../runtime/context.js';
import { TwlError } from '../../runtime/errors.js';
import type { Llm } from '../../runtime/llm.js';

/** The LLM, or a clear error saying none is configured and how to configure one. */
export function requireLlm(ctx: OpContext): Llm {
  const llm = ctx.llm();
  if (!llm) throw new TwlError('TWL_LLM_UNAVAILABLE', 'No LLM is configured: this needs Ollama.', { actions: ['Set llm.host (or TWL_LLM_HOST, e.g. http://127.0.0.1:11434) and llm.model.'] });
  return llm;
}
