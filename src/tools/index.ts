import type { AnyOp } from '../ops/op.js';
import type { Runtime } from '../runtime/context.js';
import type { Catalog } from './catalog.js';
import type { ToolCatalog } from './types.js';

/**
 * The catalog of a process, built from its configuration: twl's ops (`ops`), the workflows and the configured
 * upstreams (opened, and their children started, only when a tool of theirs is listed or called).
 */
export async function buildCatalog(runtime: Runtime, ops: () => Promise<Map<string, AnyOp>>): Promise<Catalog> {
  const [{ Catalog }, { upstreamsOf }, { workflowsOf }] = await Promise.all([import('./catalog.js'), import('./upstreams.js'), import('../workflows/provider.js')]);
  return new Catalog(runtime, { ops, ...upstreamsOf(runtime), pins: true, workflows: workflowsOf(runtime) });
}

/**
 * A catalog that loads itself on first use, for the CLI's runtime: a command that never calls a
 * tool by name (`twl cache get`) does not load the catalog, the upstream client or the MCP SDK.
 */
export function lazyCatalog(runtime: Runtime, ops: () => Promise<Map<string, AnyOp>>): ToolCatalog {
  let catalog: Promise<Catalog> | undefined;
  return deferred(() => (catalog ??= buildCatalog(runtime, ops)), () => catalog);
}

/** The catalog a face is building (`twl serve`), usable at once: each use waits for it. */
export const deferredCatalog = (catalog: Promise<Catalog>): ToolCatalog =>
  deferred(
    () => catalog,
    () => catalog,
  );

function deferred(load: () => Promise<Catalog>, loaded: () => Promise<Catalog> | undefined): ToolCatalog {
  return {
    list: async (options) => (await load()).list(options),
    get: async (name, options) => (await load()).get(name, options),
    call: async (name, input, options) => (await load()).call(name, input, options),
    refusal: async (name, options) => (await load()).refusal(name, options),
    refused: async (name, input, options, errorCode) => (await load()).refused(name, input, options, errorCode),
    onChanged: (listener) => {
      let off: (() => void) | undefined;
      let cancelled = false;
      void load().then((c) => {
        if (!cancelled) off = c.onChanged(listener);
      });
      return () => {
        cancelled = true;
        off?.();
      };
    },
    close: async () => (await loaded()?.catch(() => undefined))?.close(),
  };
}
