import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { runStep } from '../../src/agents/maestro/steps.js';
import { invoke } from '../../src/ops/invoke.js';
import { defineOp } from '../../src/ops/op.js';
import cacheGetOp from '../../src/ops/cache/get.js';
import createOp from '../../src/ops/ticket/create.js';
import resolveOp from '../../src/ops/ticket/resolve.js';
import showOp from '../../src/ops/ticket/show.js';
import type { Runtime } from '../../src/runtime/context.js';
import type { Store } from '../../src/store/types.js';
import { root, tempHome, testRuntime } from '../helpers.js';
import { runtimeBackends, unique } from './backends.js';

/*
 * Maestro's runbook steps for a key limited to namespaces (`ticket resolve` over REST or MCP): a
 * step whose tool is outside the key's grant is refused before any step runs and never called,
 * but not dropped: its audit row (refused, TWL_NAMESPACE_DENIED, via maestro), a skipped step with
 * the reason on the ticket, the runbook's fix held back, the ticket escalated; an unlimited caller
 * runs it all and resolves. Should a step outside the grant reach the call anyway, the catalog
 * refuses it (TWL_NAMESPACE_DENIED), audits the refusal, and the step is skipped with the reason,
 * not taken for a fault it found. Both stores.
 */
const fixture = path.join(root, 'test', 'fixtures', 'upstream-server.ts');

describe.each(runtimeBackends)('Maestro runbook steps within the caller\'s namespaces on $name', ({ available, db }) => {
  const key = unique('fx-lock');
  const word = `fxlock${key.replace(/[^a-z0-9]/gi, '').slice(-8).toLowerCase()}`;
  let runtime: Runtime;
  let store: Store;
  let cleanup: () => void;
  beforeAll(async () => {
    if (!available) return;
    const t = tempHome('twl-maestro-grants-');
    cleanup = t.cleanup;
    runtime = testRuntime(t.home, {
      database: db,
      upstreams: [{ name: 'fx', transport: 'stdio', command: process.execPath, args: [fixture], pin: false, tools: { include: ['read'] } }],
      runbooks: [
        {
          name: 'fx lock',
          when: { keywords: [word] },
          steps: [
            { tool: 'cache_cache_get', input: { key } },
            { tool: 'fx_read', input: { key } },
            { tool: 'cache_cache_set', input: { key: `${key}:fixed`, value: 'applied' }, approval: false },
          ],
          resolution: 'Read the lock at fx.',
        },
      ],
    });
    store = await runtime.store();
  });
  afterAll(async () => {
    await runtime?.close();
    cleanup?.();
  });

  const caller = (actor: string, namespaces?: string[]) => ({ caller: { face: 'rest' as const, actor, role: 'manager' as const, ...(namespaces ? { namespaces } : {}) } });
  const calls = async (actor: string) => (await store.query<Record<string, unknown>>("SELECT tool, via, decision, error_code FROM twl_tool_calls WHERE actor = $1 AND tool = 'fx_read' ORDER BY id", [actor])).rows;

  it.skipIf(!available)('a key granted only twl: the runbook step outside its namespaces is refused, audited and recorded, never called, and the fix after it is held back', async () => {
    const actor = `rest:key:${word}-limited`;
    const ticket = await invoke(createOp, runtime, { text: `The ${word} is stuck, please look at it.` }, caller(actor, ['twl']));
    const r = await invoke(resolveOp, runtime, { ticket_id: ticket.id }, caller(actor, ['twl']));
    expect(r.plan.runbook).toBe('fx lock');
    expect(r.plan.steps.map((s) => [s.tool, s.refused?.code ?? null])).toEqual([
      ['cache_cache_get', null],
      ['fx_read', 'TWL_TOOL_UNKNOWN'],
      ['cache_cache_set', null],
    ]);
    expect(r.plan.rationale).toContain('step fx_read refused (TWL_TOOL_UNKNOWN): No tool named "fx_read".');
    expect(r.steps.map((s) => [s.tool, s.status, s.reason?.code ?? null])).toEqual([
      ['cache_cache_get', 'ok', null],
      ['fx_read', 'skipped', 'TWL_TOOL_UNKNOWN'],
      ['cache_cache_set', 'skipped', null],
    ]);
    expect(r.outcome).toBe('escalated');
    expect(r.ticket.escalationReason).toMatch(/^Needs a human: fx_read was refused \(TWL_TOOL_UNKNOWN\): No tool named "fx_read"; so no fix ran \(cache_cache_set held back\)/);
    const timeline = (await invoke(showOp, runtime, { id: ticket.id })).timeline;
    expect(timeline.find((e) => e.step === 'fx_read')).toMatchObject({ actor: 'maestro', status: 'skipped', output: { error: { code: 'TWL_TOOL_UNKNOWN' } } });
    expect(timeline.find((e) => e.step === 'cache_cache_set')).toMatchObject({ kind: 'fix', status: 'skipped', output: { notRun: 'fx_read was refused (TWL_TOOL_UNKNOWN), so no fix runs' } });
    // The refusal's row is written before the answer; the fix was never called, so its key is not set.
    expect(await calls(actor)).toEqual([{ tool: 'fx_read', via: 'maestro', decision: 'refused', error_code: 'TWL_NAMESPACE_DENIED' }]);
    expect((await invoke(cacheGetOp, runtime, { key: `${key}:fixed` })).found).toBe(false);

    // The same runbook for a caller without a namespace limit: the step is planned and runs, and so does the fix.
    const open = `rest:key:${word}-open`;
    const other = await invoke(createOp, runtime, { text: `The ${word} is stuck again.` }, caller(open));
    const ran = await invoke(resolveOp, runtime, { ticket_id: other.id }, caller(open));
    expect(ran.steps.find((s) => s.tool === 'fx_read')).toMatchObject({ status: 'ok' });
    expect(ran.outcome).toBe('resolved');
    expect((await invoke(cacheGetOp, runtime, { key: `${key}:fixed` })).value).toBe('applied');
    await expect.poll(() => calls(open), { timeout: 10_000 }).toEqual([{ tool: 'fx_read', via: 'maestro', decision: 'allowed', error_code: null }]);
  });

  it.skipIf(!available)('a runbook step outside the caller\'s namespaces that reaches the call is refused by the catalog and audited', async () => {
    const actor = `rest:key:${word}-step`;
    // Maestro's own step runner, inside an op invoked as the limited key (the plan above never gives it such a step).
    const stepOp = defineOp({
      id: 'test.maestro-step',
      mcpName: 'test_maestro_step',
      title: 'Run one Maestro step',
      description: 'Test only.',
      input: z.object({}),
      output: z.object({ status: z.string(), output: z.unknown() }),
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
      policy: { minRole: 'viewer', needsApproval: false, timeoutMs: 30_000 },
      async run(ctx) {
        const report = await runStep(ctx, { tool: 'fx_read', input: { key }, kind: 'check', purpose: 'runbook "fx lock"', needsApproval: false }, undefined);
        return { status: report.status, output: report.output };
      },
    });
    const r = await invoke(stepOp, runtime, {}, caller(actor, ['twl']));
    expect(r.status).toBe('skipped');
    expect(r.output).toMatchObject({ error: { code: 'TWL_TOOL_UNKNOWN', message: 'No tool named "fx_read".' } });
    await expect.poll(() => calls(actor), { timeout: 10_000 }).toEqual([{ tool: 'fx_read', via: 'maestro', decision: 'refused', error_code: 'TWL_NAMESPACE_DENIED' }]);
  });
});
