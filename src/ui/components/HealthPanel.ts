import React from 'react';
import { Text } from 'ink';
import { clock, fit, healthMark, healthTone, ms } from '../format.js';
import { contentRows, type Rect } from '../layout.js';
import type { HealthView } from '../source.js';
import { Line, Panel } from './Panel.js';
import { Tinted } from './Tinted.js';

const h = React.createElement;

/** The configured services and twl's own dependencies: ok, degraded or down, with latency and why. */
export function HealthPanel({ rect, focused, health, error, scroll }: { rect: Rect; focused: boolean; health: HealthView | null; error?: string; scroll: number }) {
  if (!health) return h(Panel, { title: 'Health', focused, rect }, h(Line, { dim: !error, tone: error ? 'red' : undefined }, error ? `Cannot check: ${error}` : 'Checking…'));
  const all = [...health.services, ...health.dependencies];
  const room = contentRows(rect);
  const start = Math.max(0, Math.min(scroll, all.length - room));
  return h(
    Panel,
    { title: 'Health', note: `${health.status} · ${clock(health.checkedAt)}${health.services.length ? '' : ' · no services configured'}`, focused, rect },
    ...all.slice(start, start + room).map((s) =>
      h(Text, { key: s.name, wrap: 'truncate' }, h(Tinted, { tone: healthTone[s.status] }, `${healthMark[s.status]} ${fit(s.status, 8)}`), ` ${fit(s.name, 14)} ${fit(ms(s.latencyMs), 7)} ${s.detail}`),
    ),
  );
}
