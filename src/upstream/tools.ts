import path from 'node:path';
import { TwlError } from '../runtime/errors.js';
import type { Logger } from '../runtime/logger.js';
import type { UpstreamConfig } from './config.js';
import type { UpstreamTool } from './types.js';

/** A tool name twl accepts from an upstream: MCP's charset, short enough for `<upstream>_<tool>`. */
export const toolNamePattern = /^[A-Za-z0-9_.-]{1,64}$/;
const maxSchemaBytes = 64 * 1024;
const maxSchemaDepth = 32;

/** Whether a name matches a glob (`*`, `?`), the way include/exclude and cache policies are written. */
export const globMatch = (name: string, glob: string): boolean => path.matchesGlob(name, glob);

const depthOf = (value: unknown, depth = 0): number => {
  if (depth > maxSchemaDepth || value === null || typeof value !== 'object') return depth;
  let max = depth;
  for (const v of Object.values(value)) {
    max = Math.max(max, depthOf(v, depth + 1));
    if (max > maxSchemaDepth) break;
  }
  return max;
};

/** Why a JSON Schema from the upstream is refused, or undefined when it is fine. */
function schemaProblem(schema: unknown, what: string): string | undefined {
  if (schema === null || typeof schema !== 'object' || Array.isArray(schema)) return `its ${what} is not a JSON Schema object`;
  if ((schema as { type?: unknown }).type !== 'object') return `its ${what} does not describe an object (type: "object")`;
  if (depthOf(schema) > maxSchemaDepth) return `its ${what} is nested deeper than ${maxSchemaDepth} levels`;
  if (JSON.stringify(schema).length > maxSchemaBytes) return `its ${what} is larger than ${maxSchemaBytes} bytes`;
  return undefined;
}

const cut = (text: unknown, max: number): string | undefined => (typeof text === 'string' ? (text.length > max ? `${text.slice(0, max)}…` : text) : undefined);
const bool = (value: unknown): boolean | undefined => (typeof value === 'boolean' ? value : undefined);

/**
 * The upstream's listing made safe to hand on: more than `maxTools` refuses the listing; a tool
 * with a name outside MCP's charset, a duplicate name or an unusable schema is dropped (and
 * logged, its name escaped); long texts are cut; only the known annotations are kept; then the
 * include/exclude globs apply.
 */
export function acceptTools(config: UpstreamConfig, tools: unknown[], logger: Logger): UpstreamTool[] {
  if (tools.length > config.maxTools) {
    throw new TwlError('TWL_UPSTREAM_INVALID', `upstream ${config.name} lists ${tools.length} tools, more than maxTools (${config.maxTools}): refusing the listing.`, {
      actions: [`Raise maxTools for upstream ${config.name}, or narrow it with tools.include in the configuration.`],
    });
  }
  const out: UpstreamTool[] = [];
  const seen = new Set<string>();
  for (const item of tools) {
    const tool = (item !== null && typeof item === 'object' ? item : {}) as Record<string, unknown>;
    const name = typeof tool.name === 'string' ? tool.name : '';
    const problem = !toolNamePattern.test(name)
      ? 'its name is not 1–64 letters, digits, _, - or .'
      : seen.has(name)
        ? 'its name is listed twice'
        : (schemaProblem(tool.inputSchema, 'inputSchema') ?? (tool.outputSchema !== undefined ? schemaProblem(tool.outputSchema, 'outputSchema') : undefined));
    if (problem) {
      logger.warn({ upstream: config.name, tool: JSON.stringify(name.slice(0, 80)) }, `upstream tool dropped: ${problem}`);
      continue;
    }
    seen.add(name);
    const { include, exclude } = config.tools;
    if (include && !include.some((g) => globMatch(name, g))) continue;
    if (exclude?.some((g) => globMatch(name, g))) continue;
    const a = (tool.annotations !== null && typeof tool.annotations === 'object' ? tool.annotations : {}) as Record<string, unknown>;
    const annotations = {
      readOnlyHint: bool(a.readOnlyHint),
      destructiveHint: bool(a.destructiveHint),
      idempotentHint: bool(a.idempotentHint),
      openWorldHint: bool(a.openWorldHint),
      title: cut(a.title, 200),
    };
    out.push({
      name,
      title: cut(tool.title, 200),
      description: cut(tool.description, 8192),
      inputSchema: tool.inputSchema as Record<string, unknown>,
      ...(tool.outputSchema ? { outputSchema: tool.outputSchema as Record<string, unknown> } : {}),
      annotations: Object.fromEntries(Object.entries(annotations).filter(([, v]) => v !== undefined)),
    });
  }
  return out;
}
