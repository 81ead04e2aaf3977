import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import cacheGetOp from '../../src/ops/cache/get.js';
import { invoke } from '../../src/ops/invoke.js';
import createOp from '../../src/ops/ticket/create.js';
import resolveOp from '../../src/ops/ticket/resolve.js';
import showOp from '../../src/ops/ticket/show.js';
import type { Runtime } from '../../src/runtime/context.js';
import { tempHome, testRuntime } from '../helpers.js';
import { runtimeBackends, unique } from './backends.js';

/*
 * A runbook cut by the step budget (`maestro.maxSteps`) does not run half-way: its fix, planned
 * before a check the budget left out, is held back and recorded, the left-out check is recorded as
 * not run, and the ticket escalates instead of resolving on a check that never ran. Both stores.
 */

describe.each(runtimeBackends)('Maestro: a runbook beyond the step budget on $name', ({ available, db }) => {
  const key = unique('budget-lock');
  const word = `zorbbudget${key.replace(/[^a-z0-9]/gi, '').slice(-8).toLowerCase()}`;
  let runtime: Runtime;
  let cleanup: () => void;
  beforeAll(() => {
    if (!available) return;
    const t = tempHome('twl-maestro-budget-');
    cleanup = t.cleanup;
    runtime = testRuntime(t.home, {
      database: db,
      maestro: { maxSteps: 1 },
      runbooks: [
        {
          name: 'budget lock',
          when: { keywords: [word] },
          // The fix, then the check that verifies it: the budget of 1 leaves the check out.
          steps: [
            { tool: 'cache_cache_set', input: { key, value: 'applied' }, approval: false },
            { tool: 'cache_cache_get', input: { key } },
          ],
          resolution: 'Set the lock.',
        },
      ],
    });
  });
  afterAll(async () => {
    await runtime?.close();
    cleanup?.();
  });

  it.skipIf(!available)('holds the fix back, records both steps as not run, and escalates', async () => {
    const ticket = await invoke(createOp, runtime, { text: `The ${word} is stuck.` });
    const r = await invoke(resolveOp, runtime, { ticket_id: ticket.id });
    expect(r.steps.map((s) => [s.tool, s.status, s.reason?.message])).toEqual([
      ['cache_cache_set', 'skipped', 'cache_cache_get did not run (beyond the step budget), so no fix runs'],
      ['cache_cache_get', 'skipped', 'beyond the step budget of 1 (maestro.maxSteps)'],
    ]);
    expect(r.outcome).toBe('escalated');
    expect(r.summary).toContain('cache_cache_get did not run: beyond the step budget');
    expect((await invoke(cacheGetOp, runtime, { key })).found).toBe(false);
    const timeline = (await invoke(showOp, runtime, { id: ticket.id })).timeline;
    expect(timeline.filter((e) => e.step?.startsWith('cache_')).map((e) => [e.step, e.status])).toEqual([
      ['cache_cache_set', 'skipped'],
      ['cache_cache_get', 'skipped'],
    ]);
  });
});
