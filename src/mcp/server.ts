import type { Config as OclifConfig } from '@oclif/core';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type { CallToolResult, ServerNotification, ServerRequest } from '@modelcontextprotocol/sdk/types.js';
import { errorBody } from '../cli/base.js';
import { invoke } from '../ops/invoke.js';
import type { AnyOp } from '../ops/op.js';
import type { Progress, Runtime } from '../runtime/context.js';
import { mcpCalls } from '../runtime/metrics.js';
import { registerPrompts } from './prompts.js';
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

const text = (value: unknown) => JSON.stringify(value, null, 2);

type ToolExtra = RequestHandlerExtra<ServerRequest, ServerNotification>;

/** Long ops report progress as notifications/progress when the client asked for them (a progress token). */
function progressNotifier(extra: ToolExtra): (update: Progress) => void {
  const token = extra._meta?.progressToken;
  if (token === undefined) return () => undefined;
  let count = 0;
  return (update) => {
    count++;
    const progress = update.done !== undefined ? update.done + (update.status === 'running' ? 0 : 1) : count;
    void extra
      .sendNotification({ method: 'notifications/progress', params: { progressToken: token, progress, ...(update.total ? { total: update.total } : {}), message: update.message } })
      .catch(() => undefined);
  };
}

/**
 * An approval asked of the person behind the client, through MCP elicitation; undefined
 * (so the op refuses, saying why) when the client cannot ask.
 */
async function askThroughElicitation(server: McpServer, question: string): Promise<boolean | undefined> {
  if (!server.server.getClientCapabilities()?.elicitation) return undefined;
  const answer = await server.server.elicitInput({
    message: question,
    requestedSchema: { type: 'object', properties: { approve: { type: 'boolean', title: 'Approve', description: question } }, required: ['approve'] },
  });
  return answer.action === 'accept' && answer.content?.approve === true;
}

/** One server factory for any transport: every op becomes a tool whose structuredContent is the command's --json result. */
export function createMcpServer(entries: OpCommandEntry[], runtime: Runtime, version: string): McpServer {
  const server = new McpServer({ name: 'twl', title: 'TwisterLab', version }, { capabilities: { logging: {} } });
  for (const { op } of entries) {
    server.registerTool(
      op.mcpName,
      { title: op.title, description: op.description, inputSchema: op.input, outputSchema: op.output, annotations: { title: op.title, ...op.annotations } },
      async (args: unknown, extra: ToolExtra): Promise<CallToolResult> => {
        const warnings: string[] = [];
        try {
          const result = (await invoke(op, runtime, args, {
            signal: extra.signal,
            warn: (m) => warnings.push(m),
            ask: (question) => askThroughElicitation(server, question),
            progress: progressNotifier(extra),
          })) as Record<string, unknown>;
          const content: CallToolResult['content'] = [{ type: 'text', text: text(result) }];
          for (const warning of warnings) content.push({ type: 'text', text: `Warning: ${warning}` });
          mcpCalls.inc({ tool: op.mcpName, status: 'ok' });
          return { content, structuredContent: result };
        } catch (err) {
          const body = errorBody(err);
          mcpCalls.inc({ tool: op.mcpName, status: 'error' });
          runtime.logger.warn({ tool: op.mcpName, code: body.code }, String(body.message));
          return { isError: true, content: [{ type: 'text', text: text({ error: body }) }] };
        }
      },
    );
  }
  // Resources (tickets, the audit log, health) with subscriptions, and prompts; both before connect.
  registerResources(server, runtime);
  registerPrompts(server, runtime);
  return server;
}
