import type { ChatRequest, ChatResponse, Message, Ollama, Tool } from 'ollama';
import type { Config } from './config.js';
import { TwlError, messageOf } from './errors.js';
import { redactUrl } from './redact.js';

export type { Message, Tool };

/** Ollama through the `ollama` package; every failure names the server and what was tried. */
export class Llm {
  /** Where answers come from: an Ollama server, or the MCP client's own model (sampling). */
  readonly via: 'ollama' | 'mcp-sampling' = 'ollama';

  constructor(
    readonly host: string,
    readonly model: string,
    protected readonly timeoutMs: number,
  ) {}

  static fromConfig(config: Config): Llm | undefined {
    return config.llm.host ? new Llm(config.llm.host, config.llm.model, config.llm.timeout) : undefined;
  }

  /**
   * A client whose requests stop when `signal` fires: the package's own abort() reaches streamed
   * requests only, and twl's are not streamed, so a timeout or a cancellation would otherwise wait
   * for the answer. One per call (a cheap object): each call has its own signal.
   */
  private async client(signal: AbortSignal): Promise<Ollama> {
    const { Ollama } = await import('ollama');
    return new Ollama({ host: this.host, fetch: (input, init) => fetch(input, { ...init, signal: init?.signal ? AbortSignal.any([init.signal, signal]) : signal }) });
  }

  private async call<T>(what: string, fn: (client: Ollama) => Promise<T>, signal?: AbortSignal): Promise<T> {
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const signals = signal ? AbortSignal.any([timeout, signal]) : timeout;
    const client = await this.client(signals);
    try {
      return await fn(client);
    } catch (err) {
      const reason = timeout.aborted ? `no answer within ${this.timeoutMs} ms` : messageOf(err);
      throw new TwlError('TWL_LLM_UNAVAILABLE', `LLM unavailable at ${redactUrl(this.host)} (${what}, model ${this.model}): ${reason}`, { cause: err });
    }
  }

  chat(messages: Message[], options: { tools?: Tool[]; format?: ChatRequest['format']; signal?: AbortSignal } = {}): Promise<ChatResponse> {
    return this.call('chat', (c) => c.chat({ model: this.model, messages, tools: options.tools, format: options.format, stream: false }), options.signal);
  }

  generate(prompt: string, options: { system?: string; signal?: AbortSignal } = {}) {
    return this.call('generate', (c) => c.generate({ model: this.model, prompt, system: options.system, stream: false }), options.signal);
  }

  /** One vector per input, in order (Ollama's /api/embed; inputs longer than the model's context are truncated). */
  async embed(input: string[], options: { signal?: AbortSignal } = {}): Promise<number[][]> {
    const { embeddings } = await this.call('embed', (c) => c.embed({ model: this.model, input, truncate: true }), options.signal);
    if (embeddings.length !== input.length) throw new TwlError('TWL_LLM_UNAVAILABLE', `LLM at ${redactUrl(this.host)} answered ${embeddings.length} embeddings for ${input.length} inputs (model ${this.model}).`);
    return embeddings;
  }

  models() {
    return this.call('list models', (c) => c.list());
  }

  loaded() {
    return this.call('list loaded models', (c) => c.ps());
  }

  version() {
    return this.call('version', async () => {
      const res = await fetch(new URL('/api/version', this.host), { signal: AbortSignal.timeout(this.timeoutMs) });
      return ((await res.json()) as { version: string }).version;
    });
  }
}
