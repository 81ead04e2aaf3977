import React from 'react';
import { cleanup, render } from 'ink-testing-library';
import { afterEach, describe, expect, it } from 'vitest';
import { AgentsPanel } from '../../../src/ui/components/AgentsPanel.js';
import type { AgentsView } from '../../../src/ui/source.js';

const h = React.createElement;

const view: AgentsView = {
  llm: { configured: true, reachable: true, detail: 'ok' },
  agents: [{ name: 'real-resolver', status: 'ready', detail: 'ready', tools: 1 }],
  studio: [
    { name: 'lead', kind: 'master', parent: null, status: 'busy', reason: 'running run #4' },
    { name: 'infra', kind: 'supervisor', parent: 'lead', status: 'active', reason: 'activated by cli:ana' },
    { name: 'checker', kind: 'worker', parent: 'infra', status: 'error', reason: 'run #3 failed: LLM unavailable' },
    { name: 'fixer', kind: 'worker', parent: 'infra', status: 'pending_validation', reason: null },
  ],
};

describe('the Agents panel with the studio\'s agents', () => {
  afterEach(() => cleanup());

  it('lists them below the built-in agents: status, name, kind, parent, and why when not active', () => {
    const { lastFrame } = render(h(AgentsPanel, { rect: { width: 100, height: 12 }, focused: false, agents: view, metrics: null, working: {}, scroll: 0 }));
    const lines = lastFrame()!.split('\n');
    const at = (name: string) => lines.findIndex((l) => l.includes(` ${name} `));
    expect(at('real-resolver')).toBeLessThan(at('lead'));
    expect(lines[at('lead')]).toMatch(/◉ busy +lead +master +top · running run #4/);
    expect(lines[at('infra')]).toMatch(/● active +infra +supervisor +under lead/);
    expect(lines[at('infra')]).not.toContain('activated by');
    expect(lines[at('checker')]).toMatch(/✖ error +checker +worker +under infra · run #3 failed: LLM unavailable/);
    expect(lines[at('fixer')]).toMatch(/◌ pending +fixer +worker +under infra/);
  });

  it('scrolls over both lists when they do not fit', () => {
    const { lastFrame } = render(h(AgentsPanel, { rect: { width: 100, height: 5 }, focused: true, agents: view, metrics: null, working: {}, scroll: 3 }));
    const frame = lastFrame()!;
    expect(frame).toContain('checker');
    expect(frame).toContain('fixer');
    expect(frame).not.toContain('real-resolver');
  });
});
