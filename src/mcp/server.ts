import type { Config as OclifConfig } from '@oclif/core';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { errorBody } from '../cli/base.js';
import { invoke } from '../ops/invoke.js';
import type { AnyOp } from '../ops/op.js';
import type { Runtime } from '../runtime/context.js';

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

/** One server factory for any transport: every op becomes a tool whose structuredContent is the command's --json result. */
export function createMcpServer(entries: OpCommandEntry[], runtime: Runtime, version: string): McpServer {
  const server = new McpServer({ name: 'twl', title: 'TwisterLab', version }, { capabilities: { logging: {} } });
  for (const { op } of entries) {
    server.registerTool(
      op.mcpName,
      { title: op.title, description: op.description, inputSchema: op.input, outputSchema: op.output, annotations: { title: op.title, ...op.annotations } },
      async (args: unknown, extra: { signal: AbortSignal }): Promise<CallToolResult> => {
        const warnings: string[] = [];
        try {
          const result = (await invoke(op, runtime, args, { signal: extra.signal, warn: (m) => warnings.push(m) })) as Record<string, unknown>;
          const content: CallToolResult['content'] = [{ type: 'text', text: text(result) }];
          for (const warning of warnings) content.push({ type: 'text', text: `Warning: ${warning}` });
          return { content, structuredContent: result };
        } catch (err) {
          const body = errorBody(err);
          runtime.logger.warn({ tool: op.mcpName, code: body.code }, String(body.message));
          return { isError: true, content: [{ type: 'text', text: text({ error: body }) }] };
        }
      },
    );
  }
  return server;
}
