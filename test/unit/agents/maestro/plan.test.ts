import { describe, expect, it } from 'vitest';
import { deterministicPlan } from '../../../../src/agents/maestro/plan.js';
import { configSchema } from '../../../../src/runtime/config.js';

/**
 * The deterministic planner never drops a runbook step: a tool the caller cannot see stays in the
 * plan (the resolver asks the catalog why and records the refusal), and steps beyond the step
 * budget are kept aside as `cut`, so the resolver holds the runbook's fixes back.
 */
const tools = new Map([
  ['cache_cache_get', { readOnly: true }],
  ['cache_cache_set', { readOnly: false }],
]);
const runbook = (steps: Array<{ tool: string; input?: Record<string, unknown>; approval?: boolean }>) => ({
  name: 'zorb lock',
  when: { keywords: ['zorblock'] },
  steps: steps.map((s) => ({ input: {}, ...s })),
  resolution: 'Cleared.',
});

describe('deterministicPlan and runbook steps that may not run', () => {
  it('keeps a step whose tool the caller cannot see, as a check that asks, in the runbook\'s order', () => {
    const config = configSchema.parse({ runbooks: [runbook([{ tool: 'fx_read', input: { key: 'k' } }, { tool: 'cache_cache_set', input: { key: 'k', value: 'v' }, approval: false }])] });
    const plan = deterministicPlan({ text: 'The zorblock is stuck.', category: 'other', config, tools });
    expect(plan.steps.map((s) => [s.tool, s.kind, s.needsApproval])).toEqual([
      ['fx_read', 'check', true],
      ['cache_cache_set', 'fix', false],
    ]);
    expect(plan.rationale.join('; ')).not.toMatch(/skipped/);
    expect(plan.cut).toBeUndefined();
  });

  it('sets aside the runbook steps beyond the step budget, and says the runbook\'s fixes will not run', () => {
    const config = configSchema.parse({ maestro: { maxSteps: 2 }, runbooks: [runbook([{ tool: 'cache_cache_get' }, { tool: 'cache_cache_set', input: { key: 'k', value: 'v' } }, { tool: 'cache_cache_get' }])] });
    const plan = deterministicPlan({ text: 'The zorblock is stuck.', category: 'other', config, tools });
    expect(plan.steps.map((s) => s.tool)).toEqual(['cache_cache_get', 'cache_cache_set']);
    expect(plan.cut?.map((s) => s.tool)).toEqual(['cache_cache_get']);
    expect(plan.rationale).toContain('runbook "zorb lock" does not fit the step budget: cache_cache_get left out, so none of its fixes runs');
  });
});
