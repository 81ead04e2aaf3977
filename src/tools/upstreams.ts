import type { Runtime } from '../runtime/context.js';
import type { CatalogOptions } from './catalog.js';
import type { UpstreamPolicy } from './upstream-source.js';

/** The `upstreams:` entries of the configuration, as far as the catalog needs them. */
export function upstreamPolicies(runtime: Runtime): UpstreamPolicy[] {
  const entries = (runtime.config as { upstreams?: UpstreamPolicy[] }).upstreams ?? [];
  return entries.map((e) => ({ name: e.name, approval: e.approval, minRole: e.minRole }));
}

/** The catalog's upstream side: the set opened on first need, and each entry's policy. */
export function upstreamsOf(runtime: Runtime): Pick<CatalogOptions, 'upstreams' | 'policies'> {
  const policies = upstreamPolicies(runtime);
  if (!policies.length) return {};
  // Wired to src/upstream once it lands (see CONTRACT-12): until then no upstream is opened.
  return { policies, upstreams: async () => undefined };
}
