import type { UpstreamConfig } from './config.js';
import type { Upstream, UpstreamDeps, UpstreamSet } from './types.js';
import { UpstreamConnection } from './upstream.js';

export type * from './types.js';
export { upstreamConfigSchema, upstreamsSchema, type UpstreamConfigInput } from './config.js';
export { SecretBox } from './secrets.js';

/**
 * Opens the configured upstreams. Nothing starts here: each child is spawned (or connection
 * opened) on first use, so a twl command that never calls an upstream tool pays nothing.
 */
export function openUpstreams(entries: UpstreamConfig[], deps: UpstreamDeps): UpstreamSet {
  const maxChildren = deps.maxChildren ?? 64;
  let children = 0;
  const context = {
    logger: deps.logger,
    secrets: deps.secrets,
    env: deps.env ?? process.env,
    cache: deps.cache,
    reserve: () => (children < maxChildren ? (children++, true) : false),
    release: () => void (children = Math.max(0, children - 1)),
  };
  const upstreams = new Map<string, UpstreamConnection>(entries.map((entry) => [entry.name, new UpstreamConnection(entry, context)]));
  const shapes = new Map(entries.map((entry) => [entry.name, JSON.stringify(entry)]));
  let closing: Promise<void> | undefined;
  return {
    get: (name: string): Upstream | undefined => upstreams.get(name),
    all: (): Upstream[] => [...upstreams.values()],
    update: async (next: UpstreamConfig[]): Promise<string[]> => {
      if (closing) return [];
      const wanted = new Map(next.map((entry) => [entry.name, entry]));
      const touched: string[] = [];
      const stopping: Array<Promise<void>> = [];
      for (const [name, upstream] of upstreams) {
        const entry = wanted.get(name);
        if (entry && JSON.stringify(entry) === shapes.get(name)) continue;
        upstreams.delete(name);
        shapes.delete(name);
        stopping.push(upstream.close());
        touched.push(name);
      }
      for (const [name, entry] of wanted) {
        if (upstreams.has(name)) continue;
        upstreams.set(name, new UpstreamConnection(entry, context));
        shapes.set(name, JSON.stringify(entry));
        if (!touched.includes(name)) touched.push(name);
      }
      await Promise.all(stopping);
      return touched;
    },
    close: () => (closing ??= Promise.all([...upstreams.values()].map((u) => u.close())).then(() => undefined)),
  };
}
