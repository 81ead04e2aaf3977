import type { AnyOp } from '../ops/op.js';
import type { Runtime, RuntimeOptions } from '../runtime/context.js';
import type { Catalog } from '../tools/catalog.js';
import { deferredCatalog } from '../tools/index.js';
import { TwlCommand } from './base.js';

/**
 * A command that lists or calls tools by name (`twl tools`, `twl upstream test`, `twl serve`): its
 * runtime's catalog holds the command tree's ops (twl's and its plugins', as served over MCP) and
 * the configured upstreams; ops it runs get the same catalog as ctx.tools.
 */
export abstract class CatalogCommand<T> extends TwlCommand<T> {
  private opsP?: Promise<Map<string, AnyOp>>;
  private catalogP?: Promise<Catalog>;

  protected override runtimeOptions(): RuntimeOptions {
    const ops = () => (this.opsP ??= import('../mcp/server.js').then(async ({ opCommands }) => new Map((await opCommands(this.config)).map((e) => [e.op.mcpName, e.op]))));
    const tools = (runtime: Runtime) => {
      this.catalogP = import('../tools/index.js').then(({ buildCatalog }) => buildCatalog(runtime, ops));
      return deferredCatalog(this.catalogP);
    };
    return { ...super.runtimeOptions(), tools };
  }

  /** The catalog of this process (built with the runtime, once). */
  protected async catalog(): Promise<Catalog> {
    const runtime = await this.runtime();
    void runtime.tools; // builds it on first use
    return this.catalogP!;
  }
}
