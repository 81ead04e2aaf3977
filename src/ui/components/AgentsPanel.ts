import React from 'react';
import { Text } from 'ink';
import { fit, healthMark, healthTone } from '../format.js';
import { contentRows, type Rect } from '../layout.js';
import type { AgentsView, Metrics } from '../source.js';
import { Line, Panel } from './Panel.js';
import { studioAgentRows } from './StudioAgentRows.js';
import { Tinted } from './Tinted.js';

const h = React.createElement;

/** The agents, their state, what they did in the window (op calls) and the tickets they hold now. */
export function AgentsPanel(p: { rect: Rect; focused: boolean; agents: AgentsView | null; metrics: Metrics | null; working: Record<string, number>; error?: string; scroll: number }) {
  if (!p.agents) return h(Panel, { title: 'Agents', focused: p.focused, rect: p.rect }, h(Line, { dim: !p.error, tone: p.error ? 'red' : undefined }, p.error ?? 'Loading…'));
  const calls = new Map((p.metrics?.groups ?? []).map((g) => [g.group, g.calls]));
  const room = contentRows(p.rect);
  const list = p.agents.agents;
  const studio = studioAgentRows(p.agents.studio ?? []);
  const start = Math.max(0, Math.min(p.scroll, list.length + studio.length - room));
  return h(
    Panel,
    { title: 'Agents', note: `LLM ${p.agents.llm.configured ? (p.agents.llm.reachable ? 'up' : 'down') : 'off (rules)'}`, focused: p.focused, rect: p.rect },
    ...[
      ...list.map((a) => {
        const busy = p.working[a.name] ?? 0;
        return h(
          Text,
          { key: a.name, wrap: 'truncate' },
          h(Tinted, { tone: healthTone[a.status] }, `${healthMark[a.status]} ${fit(a.status, 11)}`),
          ` ${fit(a.name, 18)} ${fit(`${calls.get(a.name) ?? 0} calls`, 10)} ${busy ? `working on ${busy} · ` : ''}${a.detail}`,
        );
      }),
      ...studio,
    ].slice(start, start + room),
  );
}
