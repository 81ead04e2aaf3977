import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { coreOps } from '../../src/ops/registry.js';
import type { Runtime } from '../../src/runtime/context.js';
import type { Catalog } from '../../src/tools/catalog.js';
import { buildCatalog } from '../../src/tools/index.js';
import { root, tempHome, testRuntime } from '../helpers.js';
import { configBackends } from './backends.js';

/**
 * The catalog against a hostile upstream: a real process speaking MCP over stdio whose listing is
 * an attack corpus (test/fixtures/hostile-upstream.mjs). Named `cache`, so its `cache_get` would
 * be twl's own cache_cache_get once prefixed.
 */
const hostile = path.join(root, 'test', 'fixtures', 'hostile-upstream.mjs');
const backends = configBackends();

for (const backend of backends) {
  describe.skipIf(!backend.available)(`the tool catalog with a hostile upstream (${backend.name})`, () => {
    const { home, cleanup } = tempHome('twl-catalog-');
    const actor = `catalog-test-${process.pid}-${Date.now()}`;
    let runtime: Runtime;
    let catalog: Catalog;
    const as = (role?: 'viewer' | 'operator') => ({ face: 'rest' as const, actor, ...(role ? { role } : {}) });

    beforeAll(async () => {
      runtime = testRuntime(home, { ...backend.config, upstreams: [{ name: 'cache', transport: 'stdio', command: process.execPath, args: [hostile] }] });
      catalog = await buildCatalog(runtime, coreOps);
    });
    afterAll(async () => {
      await catalog.close();
      await runtime.close();
      cleanup();
    });

    it('keeps only the sound tools, never shadows a twl op, and says why each other one was left out', async () => {
      const upstream = await catalog.list({ source: 'upstream:cache' });
      expect(upstream.map((t) => t.name)).toEqual(['cache_ok', 'cache_silent']);
      const all = await catalog.list();
      expect(all.filter((t) => t.name === 'cache_cache_get')).toEqual([expect.objectContaining({ source: 'twl', title: 'Get a cached value' })]);
      const problems = catalog.problems().map((p) => `${p.tool}: ${p.problem}`);
      expect(problems).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/^cache_get: .*cache_cache_get is twl's own tool/),
          expect.stringMatching(/^remote_ref: .*\$ref that is not local/),
          expect.stringMatching(/^file_ref: .*\$ref that is not local/),
          expect.stringMatching(/^x\.\.y: .*"\.\."/),
        ]),
      );
      // Everything else of the corpus was dropped by one guard or the other (the upstream's listing check first).
      for (const name of ['cache_../../etc/passwd', 'cache_a/b', 'cache_..', 'cache_.hidden', 'cache_rtl\u202eexe', 'cache_zero\u200bwidth', 'cache_deep_schema', 'cache_huge_schema', 'cache_with space']) {
        expect(await catalog.get(name)).toBeUndefined();
      }
    });

    it('cleans what the kept tools declare: escapes and bidi overrides dropped, __proto__ not carried, a tool that says nothing is not read-only', async () => {
      const ok = (await catalog.get('cache_ok'))!;
      expect(ok.description).toBe('A fine tool.[31m red[0m evil');
      expect(Object.keys(ok.inputSchema.properties as object)).toEqual(['q']);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect(ok).toMatchObject({ minRole: 'viewer', needsApproval: false, annotations: { readOnlyHint: true, destructiveHint: false } });
      expect(await catalog.get('cache_silent')).toMatchObject({ minRole: 'operator', needsApproval: true, annotations: { readOnlyHint: false, destructiveHint: true } });
    });

    it('calls by name through one path: twl first, then the upstream; role, approval and unknown names refused and audited', async () => {
      const own = await catalog.call('cache_cache_get', { key: 'nothing-here' }, as('viewer'));
      expect(own.structured).toMatchObject({ key: 'nothing-here', found: false });
      const up = await catalog.call('cache_ok', { q: 'x' }, as('viewer'));
      expect(JSON.parse(String(up.content[0]?.text))).toEqual({ called: 'ok', args: { q: 'x' } });
      // A successful read-only call's row is grouped with that second's identical calls and written
      // later; writing it now keeps the rows below in call order.
      await catalog.audit.flush();
      await expect(catalog.call('cache_silent', {}, as('viewer'))).rejects.toMatchObject({ code: 'TWL_ROLE_DENIED' });
      await expect(catalog.call('cache_silent', {}, as('operator'))).rejects.toMatchObject({ code: 'TWL_APPROVAL_REQUIRED' });
      const asked: string[] = [];
      const approved = await catalog.call('cache_silent', {}, { ...as('operator'), ask: async (q) => (asked.push(q), true) });
      expect(asked).toHaveLength(1);
      expect(JSON.parse(String(approved.content[0]?.text))).toMatchObject({ called: 'silent' });
      for (const name of ['cache_../../etc/passwd', 'cache_a%2Fb', 'cache_ｆｕｌｌｗｉｄｔｈ', 'cache_get\u0000', '__proto__', 'constructor', 'toString']) {
        await expect(catalog.call(name, {}, as('viewer'))).rejects.toMatchObject({ code: 'TWL_TOOL_UNKNOWN' });
      }
      await expect(catalog.call('cache_ok', ['not', 'an', 'object'], as('viewer'))).rejects.toMatchObject({ code: 'TWL_INPUT_INVALID' });
      await catalog.audit.flush();
      const { rows } = await (await runtime.store()).query<{ tool: string; source: string; decision: string; outcome: string; error_code: string | null }>(
        'SELECT tool, source, decision, outcome, error_code FROM twl_tool_calls WHERE actor = $1 ORDER BY id',
        [actor],
      );
      expect(rows.slice(0, 5)).toEqual([
        { tool: 'cache_cache_get', source: 'twl', decision: 'allowed', outcome: 'ok', error_code: null },
        { tool: 'cache_ok', source: 'upstream:cache', decision: 'allowed', outcome: 'ok', error_code: null },
        { tool: 'cache_silent', source: 'upstream:cache', decision: 'refused', outcome: 'refused', error_code: 'TWL_ROLE_DENIED' },
        { tool: 'cache_silent', source: 'upstream:cache', decision: 'refused', outcome: 'refused', error_code: 'TWL_APPROVAL_REQUIRED' },
        { tool: 'cache_silent', source: 'upstream:cache', decision: 'approval', outcome: 'ok', error_code: null },
      ]);
      // Unknown names are recorded too, cleaned (no control characters reach the table).
      expect(rows.slice(5, 12).map((r) => [r.source, r.error_code])).toEqual(Array(7).fill(['unknown', 'TWL_TOOL_UNKNOWN']));
      expect(rows.map((r) => r.tool).join('')).not.toContain(String.fromCharCode(0));
      expect(rows[12]).toMatchObject({ tool: 'cache_ok', outcome: 'error', error_code: 'TWL_INPUT_INVALID' });
      // The audit table is append-only.
      await expect((await runtime.store()).query('DELETE FROM twl_tool_calls WHERE actor = $1', [actor])).rejects.toThrow(/append-only/);
    });

    it('an upstream whose listing also breaks MCP\'s own schema: those tools dropped, the sound ones kept, twl\'s tools unaffected', async () => {
      const broken = testRuntime(home, { ...backend.config, upstreams: [{ name: 'broken', transport: 'stdio', command: process.execPath, args: [hostile], env: { HOSTILE_MODE: 'invalid' } }] });
      const other = await buildCatalog(broken, coreOps);
      try {
        const tools = await other.list();
        expect(tools.filter((t) => t.source !== 'twl').map((t) => t.name)).toEqual(['broken_cache_get', 'broken_ok', 'broken_silent', 'broken_string_hint']);
        // readOnlyHint "yes" is not a boolean: not read-only, so it asks first.
        expect(tools.find((t) => t.name === 'broken_string_hint')).toMatchObject({ needsApproval: true, minRole: 'operator', annotations: { readOnlyHint: false } });
        expect(tools.find((t) => t.name === 'cache_cache_get')).toMatchObject({ source: 'twl' });
        for (const name of ['broken_not_object', 'broken_no_schema', 'broken_array_schema', 'broken_42']) {
          await expect(other.call(name, {}, as('viewer'))).rejects.toMatchObject({ code: 'TWL_TOOL_UNKNOWN' });
        }
      } finally {
        await other.close();
        await broken.close();
      }
      // A second runtime on the embedded home cannot open the store the first holds: each use waits
      // for it (store.waitTimeout) and goes on without it — the stored upstreams, the pins, the audit rows.
    });

    it('counts identical successful reads in one row per second (a bounded write rate), each other call in its own', async () => {
      const reader = `${actor}-reads`;
      for (let i = 0; i < 50; i++) await catalog.call('cache_cache_get', { key: `k${i}` }, { face: 'mcp', actor: reader });
      await catalog.audit.flush();
      const { rows } = await (await runtime.store()).query<{ calls: number; input_sha256: string | null }>('SELECT calls, input_sha256 FROM twl_tool_calls WHERE actor = $1', [reader]);
      expect(rows.reduce((n, r) => n + r.calls, 0)).toBe(50);
      expect(rows.length).toBeLessThanOrEqual(3);
      expect(rows.filter((r) => r.calls > 1).every((r) => r.input_sha256 === null)).toBe(true);
    });

    it('refuses an unknown source with the accepted ones', async () => {
      for (const source of ['upstream:../x', 'upstream:', 'twl ', 'UPSTREAM']) await expect(catalog.list({ source })).rejects.toMatchObject({ code: 'TWL_INPUT_INVALID' });
    });
  });
}
