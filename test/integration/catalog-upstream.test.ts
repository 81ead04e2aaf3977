import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { coreOps } from '../../src/ops/registry.js';
import type { Progress, Runtime } from '../../src/runtime/context.js';
import { registry } from '../../src/runtime/metrics.js';
import type { Catalog } from '../../src/tools/catalog.js';
import { buildCatalog } from '../../src/tools/index.js';
import { root, tempHome, testRuntime } from '../helpers.js';

/**
 * The catalog's one call path for an upstream tool (issue 12, point 1): the caller's timeout,
 * cancellation and progress reach the upstream through it, and every call, whatever its end,
 * leaves its audit row, the op metrics and the activity record. A real child: the fixture
 * server of test/fixtures/upstream-server.ts.
 */
const server = path.join(root, 'test', 'fixtures', 'upstream-server.ts');

describe('an upstream tool through the catalog\'s call path', () => {
  const { home, cleanup } = tempHome('twl-catalog-upstream-');
  const actor = `catalog-upstream-${process.pid}-${Date.now()}`;
  let runtime: Runtime;
  let catalog: Catalog;
  const as = { face: 'rest' as const, actor, role: 'viewer' as const };

  beforeAll(async () => {
    runtime = testRuntime(home, { upstreams: [{ name: 'cup', transport: 'stdio', command: process.execPath, args: [server], retries: 0 }] });
    catalog = await buildCatalog(runtime, coreOps);
  });
  afterAll(async () => {
    await catalog.close();
    await runtime.close();
    cleanup();
  });

  it('timeout, cancellation and progress reach the upstream; each call has its audit row, metrics and activity record', async () => {
    const seen: Progress[] = [];
    const ok = await catalog.call('cup_slow', { ms: 50 }, { ...as, progress: (p) => seen.push(p) });
    expect(JSON.parse(String(ok.content[0]?.text))).toEqual({ slept: 50 });
    expect(seen).toEqual([expect.objectContaining({ message: 'sleeping', done: 0, total: 1 })]);
    await catalog.audit.flush();

    await expect(catalog.call('cup_slow', { ms: 10_000 }, { ...as, timeoutMs: 300 })).rejects.toMatchObject({ code: 'TWL_UPSTREAM_TIMEOUT', message: expect.stringContaining('timed out after 300 ms') });
    const controller = new AbortController();
    const cancelled = catalog.call('cup_slow', { ms: 10_001 }, { ...as, signal: controller.signal });
    setTimeout(() => controller.abort(), 200);
    await expect(cancelled).rejects.toMatchObject({ code: 'TWL_INTERRUPTED' });
    await catalog.audit.flush();

    const store = await runtime.store();
    const { rows } = await store.query<{ tool: string; source: string; role: string; decision: string; outcome: string; error_code: string | null }>('SELECT tool, source, role, decision, outcome, error_code FROM twl_tool_calls WHERE actor = $1 ORDER BY id', [actor]);
    expect(rows).toEqual([
      { tool: 'cup_slow', source: 'upstream:cup', role: 'viewer', decision: 'allowed', outcome: 'ok', error_code: null },
      { tool: 'cup_slow', source: 'upstream:cup', role: 'viewer', decision: 'allowed', outcome: 'timeout', error_code: 'TWL_UPSTREAM_TIMEOUT' },
      { tool: 'cup_slow', source: 'upstream:cup', role: 'viewer', decision: 'allowed', outcome: 'cancelled', error_code: 'TWL_INTERRUPTED' },
    ]);

    const metrics = await registry.metrics();
    expect(metrics).toMatch(/^agent_calls_total\{agent_name="cup",capability="cup_slow"\} 3$/m);
    expect(metrics).toMatch(/^agent_execution_total\{agent_name="cup",status="success"\} 1$/m);
    expect(metrics).toMatch(/^agent_execution_total\{agent_name="cup",status="error"\} 2$/m);
    expect(metrics).toMatch(/^agent_latency_seconds_count\{agent_name="cup"\} 3$/m);

    await runtime.flushActivity();
    const activity = await store.query<{ calls: number; errors: number }>('SELECT sum(weight)::int AS calls, (coalesce(sum(weight) FILTER (WHERE NOT ok), 0))::int AS errors FROM twl_op_calls WHERE tool = $1', ['cup_slow']);
    expect(activity.rows[0]).toEqual({ calls: 3, errors: 2 });
  });
});
