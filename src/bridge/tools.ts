/**
 * What `twl bridge` serves: the tool catalog narrowed to the one upstream it fronts, under the
 * upstream's own tool names (`echo`, not `<upstream>_echo`), so a client configured for the stdio
 * server works unchanged through the bridge. Every call still takes the catalog's one call path
 * (role, approval, timeout, audit, metrics); this view adds the names and counts calls in flight
 * by priority for /mcp/status.
 */
import type { AnyOp } from '../ops/op.js';
import { isTwlError } from '../runtime/errors.js';
import type { Upstream } from '../upstream/types.js';
import type { Catalog } from '../tools/catalog.js';
import type { CallOptions, CatalogTool, ListOptions, ToolCatalog, ToolResult } from '../tools/types.js';
import { priorityLabel } from './headers.js';

/** The session key of the bridge's own questions to an isolated upstream (at start, and to explain a failure). */
export const PROBE_SESSION = 'twl-bridge:probe';

export class BridgeCatalog implements ToolCatalog {
  private readonly prefix: string;
  private readonly inFlight = new Map<number, number>();
  /** Whether the tool list was read since it last changed (the REST face's `cached`). */
  private listed = false;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly catalog: Catalog,
    private readonly upstream: Upstream,
    /** isolated sharing: an upstream question of the bridge's own goes to a child of its own, closed after. */
    private readonly isolated = false,
  ) {
    this.prefix = `${upstream.name}_`;
    this.unsubscribe = catalog.onChanged(() => (this.listed = false));
  }

  private own = (tool: CatalogTool): CatalogTool => ({ ...tool, name: tool.name.slice(this.prefix.length) });

  async list(options: ListOptions = {}): Promise<CatalogTool[]> {
    const tools = await this.catalog.list({ role: options.role, source: `upstream:${this.upstream.name}` });
    return tools.filter((t) => t.name.startsWith(this.prefix)).map(this.own);
  }

  /** Throws the upstream's own error (crash-loop, unavailable, timeout) when it cannot list its tools. */
  private async whyNoTools(): Promise<void> {
    if (!this.isolated) return void (await this.upstream.listTools());
    try {
      await this.upstream.listTools({ sessionKey: PROBE_SESSION });
    } finally {
      await this.upstream.closeSession(PROBE_SESSION);
    }
  }

  /** The tool list and whether it came from the cache (the upstream is asked again only after list_changed or a restart). */
  async listWithCacheState(options: ListOptions = {}): Promise<{ tools: CatalogTool[]; cached: boolean }> {
    const cached = this.listed;
    const tools = await this.list(options);
    // The catalog lists an upstream that cannot answer as one without tools (MCP servers are built
    // from that list, and must start anyway): a REST caller is told why instead.
    if (!tools.length) await this.whyNoTools();
    this.listed = true;
    return { tools, cached };
  }

  async get(name: string): Promise<CatalogTool | undefined> {
    const tool = await this.catalog.get(this.prefix + name);
    return tool && tool.source === `upstream:${this.upstream.name}` ? this.own(tool) : undefined;
  }

  async call(name: string, input: unknown, options: CallOptions): Promise<ToolResult> {
    const priority = options.priority ?? 0;
    this.inFlight.set(priority, (this.inFlight.get(priority) ?? 0) + 1);
    try {
      return await this.catalog.call(this.prefix + name, input, options);
    } catch (err) {
      // Unknown, perhaps only because the upstream cannot list its tools (crash-loop…): say that.
      if (isTwlError(err) && err.code === 'TWL_TOOL_UNKNOWN') await this.whyNoTools();
      throw err;
    } finally {
      const left = this.inFlight.get(priority)! - 1;
      if (left) this.inFlight.set(priority, left);
      else this.inFlight.delete(priority);
    }
  }

  /** A bridge serves no twl op. */
  async op(_name: string): Promise<AnyOp | undefined> {
    return undefined;
  }

  /** Records a call the MCP face refused before it reached the catalog (beyond the caller's role). */
  refused(name: string, input: unknown, options: CallOptions, errorCode: string): Promise<void> {
    return this.catalog.refused(this.prefix + name, input, options, errorCode);
  }

  /** A downstream session ended: its isolated upstream child, if any, ends too. */
  closeSession(sessionKey: string): Promise<void> {
    return this.upstream.closeSession(sessionKey);
  }

  onChanged(listener: () => void): () => void {
    return this.catalog.onChanged(listener);
  }

  /** Calls in flight at the bridge by priority name (HIGH, MEDIUM…), every seed name present. */
  inFlightByPriority(): Record<string, number> {
    const out: Record<string, number> = { CRITICAL: 0, HIGH: 0, MEDIUM: 0, LOW: 0, BULK: 0 };
    for (const [priority, n] of this.inFlight) out[priorityLabel(priority)] = (out[priorityLabel(priority)] ?? 0) + n;
    return out;
  }

  async close(): Promise<void> {
    this.unsubscribe();
    await this.catalog.close();
  }
}
