import type { Config as OclifConfig } from '@oclif/core';
import { CLIENT_CAPABILITIES_META_KEY, McpServer, inputRequired, inputResponse, type CallToolResult, type ClientCapabilities, type ServerContext } from '@modelcontextprotocol/server';
import { createHash } from 'node:crypto';
import { errorBody } from '../cli/base.js';
import { invoke } from '../ops/invoke.js';
import type { AnyOp } from '../ops/op.js';
import type { Progress, Runtime } from '../runtime/context.js';
import { mcpCalls } from '../runtime/metrics.js';
import { registerPrompts } from './prompts.js';
import { SamplingLlm } from './sampling.js';
import { registerResources } from './resources.js';

export interface OpCommandEntry {
  /** The oclif command id, `topic:verb`. */
  commandId: string;
  op: AnyOp;
}

/**
 * Every loaded command (twl's own and its plugins') that carries an op: the MCP tool list
 * is derived from the command tree, so the two cannot drift.
 */
export async function opCommands(config: OclifConfig): Promise<OpCommandEntry[]> {
  const entries: OpCommandEntry[] = [];
  for (const command of config.commands) {
    const loaded = (await command.load()) as { op?: AnyOp };
    if (loaded.op) entries.push({ commandId: command.id, op: loaded.op });
  }
  const seen = new Map<string, string>();
  for (const { commandId, op } of entries) {
    const other = seen.get(op.mcpName);
    if (other) throw new Error(`Commands ${other} and ${commandId} both declare the MCP tool ${op.mcpName}.`);
    seen.set(op.mcpName, commandId);
  }
  return entries.sort((a, b) => a.op.mcpName.localeCompare(b.op.mcpName));
}

const text = (value: unknown) => JSON.stringify(value);

/**
 * The protocol era an instance serves: `legacy` for the 2025 revisions (initialize, sessions,
 * server-to-client requests), `modern` for 2026-07-28 (a `_meta` envelope per request; the
 * server asks the client through multi round-trip results instead of requests).
 */
export type Era = 'legacy' | 'modern';

/** Long ops report progress as notifications/progress when the client asked for them (a progress token). */
function progressNotifier(ctx: ServerContext): (update: Progress) => void {
  const token = ctx.mcpReq._meta?.progressToken;
  if (token === undefined) return () => undefined;
  let count = 0;
  return (update) => {
    count++;
    const progress = update.done !== undefined ? update.done + (update.status === 'running' ? 0 : 1) : count;
    void ctx.mcpReq
      .notify({ method: 'notifications/progress', params: { progressToken: token, progress, ...(update.total ? { total: update.total } : {}), message: update.message } })
      .catch(() => undefined);
  };
}

const approvalSchema = (question: string) => ({
  type: 'object' as const,
  properties: { approve: { type: 'boolean' as const, title: 'Approve', description: question } },
  required: ['approve'],
});

/** The inputRequests key of a question: the same question gets the same key on every round. */
const approvalKey = (question: string) => `approve-${createHash('sha256').update(question).digest('hex').slice(0, 16)}`;

/**
 * Approvals asked of the person behind the client. 2025 revisions: an elicitation request
 * during the call. 2026-07-28: a multi round-trip call: a question without an answer in
 * the request's inputResponses is left unanswered (the op stops short, as for a client that
 * cannot ask) and the call returns input_required with the questions; the client retries
 * with the answers, and each answered question lets the op go one step further. Without
 * elicitation support the answer is undefined, so the op refuses or waits, saying why.
 */
class Approvals {
  readonly pending = new Map<string, string>();
  constructor(
    private readonly server: McpServer,
    private readonly ctx: ServerContext,
    private readonly era: Era,
  ) {}

  /** Whether the client declared elicitation: at initialize (2025), or in this request's envelope (2026-07-28). */
  private get canAsk(): boolean {
    const declared = this.era === 'modern' ? ((this.ctx.mcpReq.envelope as Record<string, unknown> | undefined)?.[CLIENT_CAPABILITIES_META_KEY] as ClientCapabilities | undefined) : this.server.server.getClientCapabilities();
    return Boolean(declared?.elicitation);
  }

  ask = async (question: string): Promise<boolean | undefined> => {
    if (!this.canAsk) return undefined;
    if (this.era === 'legacy') {
      const answer = await this.ctx.mcpReq.elicitInput({ mode: 'form', message: question, requestedSchema: approvalSchema(question) });
      return answer.action === 'accept' && answer.content?.approve === true;
    }
    const key = approvalKey(question);
    const answer = inputResponse(this.ctx.mcpReq.inputResponses, key);
    if (answer.kind === 'elicit') return answer.action === 'accept' && answer.content?.approve === true;
    this.pending.set(key, question);
    return undefined;
  };

  /** The input_required result asking what this round could not answer, if anything. */
  request(): CallToolResult | undefined {
    if (!this.pending.size) return undefined;
    const inputRequests = Object.fromEntries([...this.pending].map(([key, question]) => [key, inputRequired.elicit({ message: question, requestedSchema: approvalSchema(question) })]));
    return inputRequired({ inputRequests }) as unknown as CallToolResult;
  }
}

/**
 * Without Ollama, the client's own model through sampling, when it offers one (2025 revisions;
 * 2026-07-28 deprecates sampling, and Maestro's multi-step loop does not fit its round trips).
 */
function clientModel(server: McpServer, ctx: ServerContext, era: Era, runtime: Runtime): SamplingLlm | undefined {
  if (era !== 'legacy' || runtime.llm()) return undefined;
  const sampling = server.server.getClientCapabilities()?.sampling;
  if (!sampling) return undefined;
  return new SamplingLlm(ctx, Boolean(sampling.tools), server.server.getClientVersion()?.name ?? 'client', runtime.config.llm.timeout);
}

/** Who calls over MCP: the authenticated principal over HTTP, else the client's name (stdio). */
const mcpActor = (server: McpServer, ctx: ServerContext): string => `mcp:${ctx.http?.authInfo?.clientId ?? server.server.getClientVersion()?.name ?? 'client'}`;

/** Op warnings reach the client as log notifications too (filtered by its logging/setLevel). */
const logToClient = (ctx: ServerContext, level: 'warning' | 'error', data: unknown) => void ctx.mcpReq.log(level, data, 'twl').catch(() => undefined);

/** One server factory for any transport and era: every op becomes a tool whose structuredContent is the command's --json result. */
export function createMcpServer(entries: OpCommandEntry[], runtime: Runtime, version: string, era: Era = 'legacy'): McpServer {
  const server = new McpServer({ name: 'twl', title: 'TwisterLab', version }, { capabilities: { logging: {} } });
  for (const { op } of entries) {
    server.registerTool(
      op.mcpName,
      { title: op.title, description: op.description, inputSchema: op.input, outputSchema: op.output, annotations: { title: op.title, ...op.annotations } },
      async (args: unknown, ctx: ServerContext): Promise<CallToolResult> => {
        const warnings: string[] = [];
        const approvals = new Approvals(server, ctx, era);
        try {
          const result = (await invoke(op, runtime, args, {
            signal: ctx.mcpReq.signal,
            warn: (m) => {
              warnings.push(m);
              logToClient(ctx, 'warning', { tool: op.mcpName, message: m });
            },
            ask: approvals.ask,
            progress: progressNotifier(ctx),
            llm: clientModel(server, ctx, era, runtime),
            caller: { face: 'mcp', actor: mcpActor(server, ctx) },
          })) as Record<string, unknown>;
          const asked = approvals.request();
          if (asked) return asked;
          const content: CallToolResult['content'] = [{ type: 'text', text: text(result) }];
          for (const warning of warnings) content.push({ type: 'text', text: `Warning: ${warning}` });
          mcpCalls.inc({ tool: op.mcpName, status: 'ok' });
          return { content, structuredContent: result };
        } catch (err) {
          const asked = approvals.request();
          if (asked) return asked;
          const body = errorBody(err);
          mcpCalls.inc({ tool: op.mcpName, status: 'error' });
          runtime.logger.warn({ tool: op.mcpName, code: body.code }, String(body.message));
          logToClient(ctx, 'error', { tool: op.mcpName, error: body });
          return { isError: true, content: [{ type: 'text', text: text({ error: body }) }] };
        }
      },
    );
  }
  // Resources (tickets, the audit log, health) with subscriptions, and prompts.
  registerResources(server, runtime);
  registerPrompts(server, runtime);
  return server;
}
