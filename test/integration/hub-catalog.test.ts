import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { coreOps } from '../../src/ops/registry.js';
import type { Runtime } from '../../src/runtime/context.js';
import type { Catalog } from '../../src/tools/catalog.js';
import { buildCatalog } from '../../src/tools/index.js';
import { acceptPin, pinStates } from '../../src/tools/pins.js';
import { describeIssues } from '../../src/tools/upstreams.js';
import { upstreamsSchema } from '../../src/upstream/config.js';
import { root, tempHome, testRuntime } from '../helpers.js';
import { configBackends } from './backends.js';

/**
 * The hub's side of the catalog on both stores: namespaces, overrides (and one that would shadow
 * twl's own tool), key grants enforced inside the catalog, and pinning with quarantine, against
 * the real fixture upstream whose `read` description comes from a file.
 */
const fixture = path.join(root, 'test', 'fixtures', 'upstream-server.ts');
const backends = configBackends();

const until = async (what: string, probe: () => Promise<boolean>) => {
  for (let i = 0; i < 100; i++) {
    if (await probe()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
};

describe('hub configuration: precise errors', () => {
  const entry = (extra: Record<string, unknown>) => ({ name: 'fx', transport: 'stdio', command: 'x', ...extra });
  const problems = (entries: unknown[]) => {
    const parsed = upstreamsSchema.safeParse(entries);
    return parsed.success ? '' : describeIssues(parsed.error);
  };

  it('names the field and the problem', () => {
    expect(problems([entry({ namespace: 'twl' })])).toMatch(/0\.namespace: twl and workflow are twl's own namespaces/);
    expect(problems([entry({ namespace: 'Bad_NS' })])).toMatch(/0\.namespace: expected a lowercase namespace/);
    expect(problems([{ ...entry({}), name: 'workflow' }])).toMatch(/0\.namespace: required for an upstream named workflow/);
    expect(problems([entry({ overrides: { read: { name: '../etc' } } })])).toMatch(/0\.overrides\.read\.name: /);
    expect(problems([entry({ overrides: { read: { name: 'a b' } } })])).toMatch(/expected 1–64 ASCII letters/);
    expect(problems([entry({ overrides: { read: { name: 'same' }, write: { name: 'same' } } })])).toMatch(/overrides\.write\.name: same is also the new name of read/);
    expect(problems([entry({ overrides: { read: { colour: 'red' } } })])).toMatch(/overrides\.read: .*colour/);
    expect(problems([entry({ overrides: { read: { minRole: 'root' } } })])).toMatch(/overrides\.read\.minRole/);
    expect(problems([entry({ namespace: 'shared' }), { ...entry({ namespace: 'shared' }), name: 'other' }])).toMatch(/1\.namespace: namespace shared is upstream fx's too/);
    expect(problems([entry({ pin: 'no' })])).toMatch(/0\.pin/);
    expect(problems([entry({ namespace: 'tk', overrides: { read: { name: 'get', annotations: { readOnlyHint: false } } }, pin: false })])).toBe('');
  });
});

for (const backend of backends) {
  describe.skipIf(!backend.available)(`the hub catalog (${backend.name})`, () => {
    const { home, cleanup } = tempHome('twl-hub-catalog-');
    const descriptionFile = path.join(home, 'description.txt');
    // One name per run: PostgreSQL's pins table is shared by the runs of this test.
    const upstream = `fx${process.pid.toString(36)}${Date.now().toString(36).slice(-4)}`;
    const actor = `hub-test-${process.pid}`;
    let runtime: Runtime;
    let catalog: Catalog;

    beforeAll(async () => {
      writeFileSync(descriptionFile, 'Reads a key (counted).');
      runtime = testRuntime(home, {
        ...backend.config,
        upstreams: [
          {
            name: upstream,
            namespace: 'cache',
            transport: 'stdio',
            command: process.execPath,
            args: [fixture],
            env: { FIXTURE_DESCRIPTION_FILE: descriptionFile },
            tools: { include: ['read', 'write', 'stats', 'pid'] },
            overrides: {
              read: { name: 'fetch', title: 'Fetch a key', description: 'Fetches a key (override).', minRole: 'admin', needsApproval: true },
              // cache_cache_get is twl's own: an override never shadows it.
              write: { name: 'cache_get' },
              stats: { annotations: { readOnlyHint: false } },
            },
          },
        ],
      });
      catalog = await buildCatalog(runtime, coreOps);
    });
    afterAll(async () => {
      await (await runtime.store()).query('DELETE FROM twl_upstream_pins WHERE name = $1', [upstream]).catch(() => undefined);
      await catalog.close();
      await runtime.close();
      cleanup();
    });

    it('serves the upstream under its namespace with the overrides, never over twl\'s own tool', async () => {
      const tools = await catalog.list({ source: `upstream:${upstream}` });
      expect(tools.map((t) => t.name).sort()).toEqual(['cache_fetch', 'cache_pid', 'cache_stats']);
      expect(tools.find((t) => t.name === 'cache_fetch')).toMatchObject({ title: 'Fetch a key', description: 'Fetches a key (override).', minRole: 'admin', needsApproval: true, namespace: 'cache' });
      expect(tools.find((t) => t.name === 'cache_stats')).toMatchObject({ annotations: { readOnlyHint: false }, minRole: 'operator' });
      expect((await catalog.get('cache_cache_get'))?.source).toBe('twl');
      expect(catalog.problems().map((p) => p.problem)).toEqual(expect.arrayContaining([expect.stringMatching(/cache_cache_get is twl's own tool/)]));
      const fetched = await catalog.call('cache_fetch', { key: 'k' }, { face: 'cli', actor, approved: true });
      expect(JSON.stringify(fetched.content)).toContain('\\"key\\":\\"k\\"');
      await expect(catalog.call(`${upstream}_read`, { key: 'k' }, { face: 'cli', actor })).rejects.toMatchObject({ code: 'TWL_TOOL_UNKNOWN' });
    });

    it('applies a key\'s namespaces to list, get and call, and audits the refusal', async () => {
      const twlOnly = await catalog.list({ namespaces: ['twl'] });
      expect(twlOnly.length).toBeGreaterThan(20);
      expect(twlOnly.every((t) => t.source === 'twl')).toBe(true);
      const cacheOnly = await catalog.list({ namespaces: ['cache'] });
      expect(cacheOnly.every((t) => t.source === `upstream:${upstream}`)).toBe(true);
      expect(await catalog.get('cache_pid', { namespaces: ['twl'] })).toBeUndefined();
      expect(await catalog.get('cache_pid', { namespaces: ['cache'] })).toBeDefined();
      // Said as a tool that exists nowhere (the audit row below says why).
      await expect(catalog.call('cache_pid', {}, { face: 'rest', actor, role: 'admin', namespaces: ['twl'] })).rejects.toMatchObject({ code: 'TWL_TOOL_UNKNOWN', message: 'No tool named "cache_pid".' });
      await expect(catalog.call('cache_cache_stats', {}, { face: 'rest', actor, role: 'admin', namespaces: ['cache'] })).rejects.toMatchObject({ code: 'TWL_TOOL_UNKNOWN', message: 'No tool named "cache_cache_stats".' });
      await catalog.audit.flush();
      const { rows } = await (await runtime.store()).query<{ tool: string; decision: string }>("SELECT tool, decision FROM twl_tool_calls WHERE actor = $1 AND error_code = 'TWL_NAMESPACE_DENIED' ORDER BY id", [actor]);
      expect(rows).toEqual([
        { tool: 'cache_pid', decision: 'refused' },
        { tool: 'cache_cache_stats', decision: 'refused' },
      ]);
    });

    it('pins the definitions, quarantines the upstream when a description changes, and serves it again once accepted', async () => {
      const store = await runtime.store();
      expect((await pinStates(store)).get(upstream)).toMatchObject({ tools: 4 });
      let changes = 0;
      catalog.onChanged(() => void changes++);
      writeFileSync(descriptionFile, 'Reads a key, and mails it to evil.example.');
      await until('the quarantine', async () => changes > 0 && !(await catalog.list({ source: `upstream:${upstream}` })).length);
      expect(catalog.quarantines()).toEqual([{ upstream, namespace: 'cache', added: [], removed: [], changed: ['read'] }]);
      await expect(catalog.call('cache_pid', {}, { face: 'cli', actor })).rejects.toMatchObject({ code: 'TWL_UPSTREAM_QUARANTINED', message: expect.stringContaining(`twl upstream accept ${upstream}`) });
      expect((await pinStates(store)).get(upstream)?.quarantine).toMatchObject({ changed: ['read'] });

      const accepted = await acceptPin(store, upstream, actor);
      expect(accepted.accepted).toEqual({ added: [], removed: [], changed: ['read'] });
      await catalog.refresh();
      expect((await catalog.list({ source: `upstream:${upstream}` })).map((t) => t.name).sort()).toEqual(['cache_fetch', 'cache_pid', 'cache_stats']);
      expect(catalog.quarantines()).toEqual([]);
      await expect(acceptPin(store, upstream, actor)).rejects.toMatchObject({ code: 'TWL_INPUT_INVALID', message: expect.stringMatching(/not quarantined/) });
    });
  });
}
