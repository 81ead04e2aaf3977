import type { CreateMessageRequestParams, CreateMessageResultWithTools, SamplingMessage, SamplingMessageContentBlock, ServerContext } from '@modelcontextprotocol/server';
import type { ChatRequest, ChatResponse, Message, Tool } from 'ollama';
import { TwlError, messageOf } from '../runtime/errors.js';
import { Llm } from '../runtime/llm.js';

const MAX_TOKENS = 1024;

/** Ollama's chat messages as MCP sampling messages (system text apart; tool results matched to their calls in order). */
function toSampling(messages: Message[]): { systemPrompt: string; messages: SamplingMessage[] } {
  const system: string[] = [];
  const out: SamplingMessage[] = [];
  const pending: string[] = [];
  messages.forEach((m, i) => {
    if (m.role === 'system') return void system.push(m.content);
    if (m.role === 'tool') {
      const block: SamplingMessageContentBlock = { type: 'tool_result', toolUseId: pending.shift() ?? `call-${i}`, content: [{ type: 'text', text: m.content }] };
      // Consecutive tool results go in one user message, as the protocol asks.
      const last = out.at(-1);
      if (last?.role === 'user' && Array.isArray(last.content) && last.content.every((c) => c.type === 'tool_result')) last.content.push(block);
      else out.push({ role: 'user', content: [block] });
      return;
    }
    const content: SamplingMessageContentBlock[] = m.content ? [{ type: 'text', text: m.content }] : [];
    (m.tool_calls ?? []).forEach((call, j) => {
      const id = `call-${i}-${j}`;
      pending.push(id);
      content.push({ type: 'tool_use', id, name: call.function.name, input: (call.function.arguments ?? {}) as Record<string, unknown> });
    });
    out.push({ role: m.role === 'assistant' ? 'assistant' : 'user', content });
  });
  return { systemPrompt: system.join('\n\n'), messages: out };
}

/** A sampling answer as Ollama's chat response: its text, and its tool uses as tool calls. */
function fromSampling(result: CreateMessageResultWithTools, json: boolean): ChatResponse {
  const blocks = Array.isArray(result.content) ? result.content : [result.content];
  let text = blocks.flatMap((b) => (b.type === 'text' ? [b.text] : [])).join('\n');
  // Asked for JSON, models still wrap it in a code fence now and then.
  if (json) text = /```(?:json)?\s*([\s\S]*?)```/.exec(text)?.[1]?.trim() ?? text.trim();
  const toolCalls = blocks.flatMap((b) => (b.type === 'tool_use' ? [{ function: { name: b.name, arguments: b.input } }] : []));
  return { model: result.model, message: { role: 'assistant', content: text, ...(toolCalls.length ? { tool_calls: toolCalls } : {}) }, done: true } as unknown as ChatResponse;
}

/**
 * The MCP client's own model, through sampling (2025 revisions), standing in for Ollama when
 * none is configured: Maestro's classification and investigation then use the model of the
 * IDE or agent that called twl. Tool calls need the client's sampling.tools capability.
 */
export class SamplingLlm extends Llm {
  override readonly via = 'mcp-sampling' as const;

  constructor(
    private readonly ctx: ServerContext,
    private readonly withTools: boolean,
    clientName: string,
    timeoutMs: number,
  ) {
    super('the MCP client', `${clientName} (sampling)`, timeoutMs);
  }

  override async chat(messages: Message[], options: { tools?: Tool[]; format?: ChatRequest['format']; signal?: AbortSignal } = {}): Promise<ChatResponse> {
    if (options.tools?.length && !this.withTools) throw new TwlError('TWL_LLM_UNAVAILABLE', `${this.model} cannot call tools: the client's sampling does not declare tools.`);
    const { systemPrompt, messages: sampled } = toSampling(messages);
    const json = options.format !== undefined && options.format !== '';
    const params: CreateMessageRequestParams = {
      messages: sampled,
      systemPrompt: [systemPrompt, json ? 'Answer with one JSON object only, no prose and no code fence.' : ''].filter(Boolean).join('\n\n') || undefined,
      maxTokens: MAX_TOKENS,
    };
    if (options.tools?.length) {
      params.tools = options.tools.map((t) => ({ name: String(t.function.name), description: t.function.description ?? '', inputSchema: { ...(t.function.parameters as object), type: 'object' as const } }));
      params.toolChoice = { mode: 'auto' };
    }
    try {
      const result = (await this.ctx.mcpReq.requestSampling(params, { signal: options.signal, timeout: this.timeoutMs })) as CreateMessageResultWithTools;
      return fromSampling(result, json);
    } catch (err) {
      throw new TwlError('TWL_LLM_UNAVAILABLE', `${this.model} did not answer: ${messageOf(err)}`, { cause: err });
    }
  }

  override async generate(prompt: string, options: { system?: string; signal?: AbortSignal } = {}) {
    const messages: Message[] = [...(options.system ? [{ role: 'system', content: options.system }] : []), { role: 'user', content: prompt }];
    const res = await this.chat(messages, { signal: options.signal });
    return { model: this.model, response: res.message.content, done: true } as unknown as Awaited<ReturnType<Llm['generate']>>;
  }

  override async models() {
    return { models: [] } as unknown as Awaited<ReturnType<Llm['models']>>;
  }

  override async loaded() {
    return { models: [] } as unknown as Awaited<ReturnType<Llm['loaded']>>;
  }

  override async version(): Promise<string> {
    return 'MCP sampling';
  }
}
