import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { coreOps } from '../../src/ops/registry.js';
import type { Runtime } from '../../src/runtime/context.js';
import type { Catalog } from '../../src/tools/catalog.js';
import { buildCatalog } from '../../src/tools/index.js';
import type { ToolResult } from '../../src/tools/types.js';
import { acceptPin } from '../../src/tools/pins.js';
import { HOSTILE_NS, LONG_TOOL, hostileListing, hostileUpstream } from '../fixtures/hostile-listing.js';
import { tempHome, testRuntime } from '../helpers.js';

/**
 * The hub's catalog against an upstream that tries to take names that are not its own, lies about
 * a tool that writes, and changes its definitions between two listings
 * (test/fixtures/hostile-listing.ts). The MCP and REST faces are in test/e2e/hub-hostile.test.ts.
 */
const until = async (what: string, probe: () => Promise<boolean>) => {
  for (let i = 0; i < 150; i++) {
    if (await probe()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
};
const textOf = (r: ToolResult) => JSON.parse(String(r.content[0]?.text)) as { called: string; n: number };

describe('the hub catalog with a hostile upstream: names, hints and definitions that change', () => {
  const { home, cleanup } = tempHome('twl-hub-hostile-');
  const listing = path.join(home, 'listing.json');
  const actor = `hub-hostile-${process.pid}`;
  const ns = (tool: string) => `${HOSTILE_NS}_${tool}`;
  const as = { face: 'cli' as const, actor, approved: true };
  let runtime: Runtime;
  let catalog: Catalog;

  beforeAll(async () => {
    runtime = testRuntime(home, { upstreams: [hostileUpstream(listing) as never] });
    catalog = await buildCatalog(runtime, coreOps);
  });
  afterAll(async () => {
    await catalog.close();
    await runtime.close();
    cleanup();
  });

  it('a configured rename wins over the upstream\'s own tool of that name, whatever the listing order', async () => {
    const ok = await catalog.get(ns('ok'));
    expect(ok?.description).toBe('Renamed to ok by the configuration.');
    expect(textOf(await catalog.call(ns('ok'), {}, as)).called).toBe('src');
    expect(await catalog.get(ns('src'))).toBeUndefined();
    expect(catalog.problems()).toEqual(expect.arrayContaining([expect.objectContaining({ tool: 'ok', problem: `its name ${ns('ok')} is the configured new name of src: left out` })]));
  });

  it('names of other namespaces and twl\'s own stay theirs: the upstream\'s tools are always under its namespace', async () => {
    expect(await catalog.get('memory_create_entities')).toBeUndefined();
    expect((await catalog.get('upstream_accept'))?.source).toBe('twl');
    const claimed = await catalog.get(ns('upstream_accept'));
    expect(claimed).toMatchObject({ source: 'upstream:hx', namespace: HOSTILE_NS });
    expect(await catalog.get(ns('memory_create_entities'), { namespaces: ['memory'] })).toBeUndefined();
    await expect(catalog.call(ns('memory_create_entities'), {}, { ...as, namespaces: ['memory'] })).rejects.toMatchObject({ code: 'TWL_TOOL_UNKNOWN' });
    // The longest names: a 32-character namespace and a 64-character tool, 97 characters served.
    const long = ns(LONG_TOOL);
    expect(long).toHaveLength(97);
    expect(textOf(await catalog.call(long, {}, as)).called).toBe(LONG_TOOL);
  });

  it('a readOnlyHint the configuration overrides holds on the request path too: the liar\'s calls are neither cached nor shared', async () => {
    expect(await catalog.get(ns('liar'))).toMatchObject({ annotations: { readOnlyHint: false }, minRole: 'operator', needsApproval: true });
    const first = textOf(await catalog.call(ns('liar'), {}, as));
    const second = textOf(await catalog.call(ns('liar'), {}, as));
    expect(second.n).toBe(first.n + 1);
    const [a, b] = await Promise.all([catalog.call(ns('liar'), {}, as), catalog.call(ns('liar'), {}, as)]);
    expect(textOf(a).n).not.toBe(textOf(b).n);
  });

  it('definitions that change between two listings: a schema that grows, then a tool that appears later, each quarantine the upstream until accepted', async () => {
    const store = await runtime.store();
    const served = async () => (await catalog.list({ source: 'upstream:hx' })).map((t) => t.name);
    expect(await served()).toContain(ns('ok'));

    const grown = hostileListing().map((t) => (t.name === 'src' ? { ...t, inputSchema: { type: 'object', properties: { command: { type: 'string' } } } } : t));
    writeFileSync(listing, JSON.stringify(grown));
    await until('the quarantine of a grown schema', async () => !(await served()).length);
    expect(catalog.quarantines()).toEqual([{ upstream: 'hx', namespace: HOSTILE_NS, added: [], removed: [], changed: ['src'] }]);
    await expect(catalog.call(ns('ok'), {}, as)).rejects.toMatchObject({ code: 'TWL_UPSTREAM_QUARANTINED' });
    await acceptPin(store, 'hx', actor);
    await catalog.refresh();
    expect(await served()).toContain(ns('ok'));

    writeFileSync(listing, JSON.stringify([...grown, { name: 'newcomer', description: 'Appeared later.', inputSchema: { type: 'object', properties: {} }, annotations: { readOnlyHint: true } }]));
    await until('the quarantine of an added tool', async () => !(await served()).length);
    expect(catalog.quarantines()).toEqual([{ upstream: 'hx', namespace: HOSTILE_NS, added: ['newcomer'], removed: [], changed: [] }]);
    await expect(catalog.call(ns('newcomer'), {}, as)).rejects.toMatchObject({ code: 'TWL_UPSTREAM_QUARANTINED' });
    await acceptPin(store, 'hx', actor);
    await catalog.refresh();
    expect(textOf(await catalog.call(ns('newcomer'), {}, as)).called).toBe('newcomer');
  });
});
