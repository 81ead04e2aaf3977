/**
 * The bridge's hot path for MCP tools/call (see HttpExtension.callTool): the call goes straight
 * to the catalog, without building an SDK server and transport for it, and its answer is what the
 * SDK path would have answered: the upstream's result as it came, or a tool error naming the problem.
 */
import { errorBody } from '../cli/base.js';
import type { DirectCall } from '../http/server.js';
import { isTwlError, unknownTool } from '../runtime/errors.js';
import type { Logger } from '../runtime/logger.js';
import { mcpCalls } from '../runtime/metrics.js';
import type { BridgeCatalog } from './tools.js';

/**
 * The answer to a call of a tool the bridge does not serve (the same through either path): a tool
 * error, as the stdio server itself would answer, worded as the catalog words a tool that exists
 * nowhere (`unknownTool`), which is also what a key limited to namespaces is told of a tool outside
 * them (`unseenTool`, refused before the bridge sees the call: src/http/server.ts).
 */
export const unknownToolResult = (name: string) => ({
  isError: true,
  content: [{ type: 'text' as const, text: unknownTool(name).message }],
});

export function directCalls(catalog: BridgeCatalog, isolated: boolean, logger: Logger) {
  return async (call: DirectCall): Promise<Record<string, unknown> | undefined> => {
    // A tool that asks first needs the SDK path, where the client can be asked (elicitation).
    if ((await catalog.get(call.name))?.needsApproval) return undefined;
    try {
      const result = await catalog.call(call.name, call.arguments, {
        face: 'mcp',
        actor: `mcp:${call.caller.principal}`,
        role: call.caller.role,
        signal: call.signal,
        ...(isolated && call.sessionId ? { sessionKey: call.sessionId } : {}),
      });
      mcpCalls.inc({ tool: call.name, status: result.isError ? 'error' : 'ok' });
      return { content: result.content, ...(result.structured ? { structuredContent: result.structured } : {}), ...(result.isError ? { isError: true } : {}) };
    } catch (err) {
      mcpCalls.inc({ tool: call.name, status: 'error' });
      if (isTwlError(err) && err.code === 'TWL_TOOL_UNKNOWN') return unknownToolResult(call.name);
      const body = errorBody(err);
      logger.warn({ tool: call.name, code: body.code }, String(body.message));
      return { isError: true, content: [{ type: 'text', text: JSON.stringify({ error: body }) }] };
    }
  };
}
