import { describe, expect, it } from 'vitest';
import { agentsSeenBy, braceAlternatives } from '../../../src/studio/agent-view.js';
import type { Agent } from '../../../src/studio/agents.js';

/** A catalog of tool names by namespace; `list({namespaces})` answers as the real one does. */
const catalog = (byNamespace: Record<string, string[]>) => ({
  list: async (options?: { namespaces?: string[] }) =>
    Object.entries(byNamespace)
      .filter(([ns]) => !options?.namespaces || options.namespaces.includes(ns))
      .flatMap(([ns, names]) => names.map((name) => ({ name, namespace: ns })) as never[]),
});

const agent = (fields: Partial<Agent>): Agent => ({
  name: 'a',
  kind: 'master',
  parent: null,
  instructions: '',
  tools: [],
  model: null,
  policy: {},
  steps: null,
  status: 'active',
  reason: null,
  createdBy: 'cli:test',
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:00.000Z',
  ...fields,
});

describe('braceAlternatives', () => {
  it('expands lists, nested and in sequence, and leaves what is not a list', () => {
    expect(braceAlternatives('agent_show')).toEqual(['agent_show']);
    expect(braceAlternatives('{agent_show,fx_read}')).toEqual(['agent_show', 'fx_read']);
    expect(braceAlternatives('a_{b,{c,d}}_e')).toEqual(['a_b_e', 'a_c_e', 'a_d_e']);
    expect(braceAlternatives('{a,b}_{c,d}')).toEqual(['a_c', 'a_d', 'b_c', 'b_d']);
    expect(braceAlternatives('x{a}_{b,c}')).toEqual(['x{a}_b', 'x{a}_c']);
    expect(braceAlternatives('x_{a,b')).toEqual(['x_{a,b']);
    expect(braceAlternatives('{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}')).toBeUndefined();
  });
});

describe('agentsSeenBy', () => {
  const tools = catalog({ twl: ['agent_show', 'agent_list', 'monitoring_health'], workflow: ['workflow_daily'], fx: ['fx_read'] });
  const fx = agent({
    tools: ['fx_*', 'agent_*', '{agent_show,fx_read}', '!fx_*', '*', 'zz_*'],
    policy: { preapprove: ['fx_read', 'agent_show'] },
    steps: { workflow: 'nightly', tools: [{ tool: 'fx_read', input: { key: 'k' } }, { tool: 'agent_list' }] },
    reason: 'activation failed: the tool glob "zz_*" matches no tool of the catalog',
  });

  it('an unlimited caller is shown the agent as it is', async () => {
    expect(await agentsSeenBy(tools, [fx], undefined)).toEqual([fx]);
  });

  it('a limited caller is shown only the entries naming tools it reaches, and how many others there are', async () => {
    const [seen] = await agentsSeenBy(tools, [fx], ['twl', 'workflow']);
    expect(seen).toMatchObject({
      tools: ['agent_*', '*'],
      policy: { preapprove: ['agent_show'] },
      steps: { tools: [{ tool: 'agent_list' }] },
      reason: null,
      hidden: { tools: 4, preapprove: 1, steps: 2, reason: true },
    });
    expect(JSON.stringify(seen)).not.toMatch(/fx_|zz_|nightly/);
  });

  it('what is hidden does not depend on what other namespaces hold', async () => {
    const without = catalog({ twl: ['agent_show', 'agent_list', 'monitoring_health'], workflow: ['workflow_daily'] });
    expect(await agentsSeenBy(without, [fx], ['twl', 'workflow'])).toEqual(await agentsSeenBy(tools, [fx], ['twl', 'workflow']));
  });

  it('a workflow the caller reaches, and a reason quoting nothing hidden, are shown', async () => {
    const [seen] = await agentsSeenBy(tools, [agent({ tools: ['workflow_*'], steps: { workflow: 'daily' }, reason: 'activated by cli:me' })], ['workflow']);
    expect(seen).toMatchObject({ tools: ['workflow_*'], steps: { workflow: 'daily' }, reason: 'activated by cli:me', hidden: { tools: 0, preapprove: 0, steps: 0, reason: false } });
  });
});
