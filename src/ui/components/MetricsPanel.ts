import React from 'react';
import { Text } from 'ink';
import { fit, ms, percent, sparkline } from '../format.js';
import { contentCols, contentRows, type Rect } from '../layout.js';
import type { GroupMetrics, Metrics } from '../source.js';
import { Line, Panel } from './Panel.js';
import { Tinted } from './Tinted.js';

const h = React.createElement;

function Row({ g, name, bold }: { g: GroupMetrics; name: number; bold?: boolean }) {
  const rate = g.perMinute.at(-1) ?? 0;
  return h(
    Text,
    { wrap: 'truncate', bold },
    fit(g.group, name),
    ' ',
    fit(String(rate), 5),
    ' ',
    fit(ms(g.p95Ms), 7),
    ' ',
    h(Tinted, { tone: g.errorRate >= 0.05 ? 'bad' : g.errorRate > 0 ? 'warn' : undefined }, fit(percent(g.errorRate), 6)),
    ' ',
    h(Tinted, { tone: 'info' }, sparkline(g.perMinute)),
  );
}

/** Calls per minute, p95 latency and error rate per tool group, over the last 15 minutes, from every twl process. */
export function MetricsPanel({ rect, focused, metrics, error, scroll }: { rect: Rect; focused: boolean; metrics: Metrics | null; error?: string; scroll: number }) {
  const rows = contentRows(rect);
  const name = Math.max(6, Math.min(18, contentCols(rect) - 5 - 7 - 6 - 15 - 4));
  if (!metrics) return h(Panel, { title: 'Activity', focused, rect }, h(Line, { dim: !error, tone: error ? 'red' : undefined }, error ? `Cannot read the op calls: ${error}` : 'Loading…'));
  const room = Math.max(0, rows - 2);
  const start = Math.max(0, Math.min(scroll, metrics.groups.length - room));
  return h(
    Panel,
    { title: 'Activity', note: `${metrics.windowMinutes} min, all processes${error ? ' (stale)' : ''}`, focused, rect },
    h(Line, { key: 'head', dim: true }, `${fit('group', name)} ${fit('/min', 5)} ${fit('p95', 7)} ${fit('errors', 6)} ${metrics.windowMinutes} min`),
    h(Row, { key: 'all', g: metrics.all, name, bold: true }),
    ...(metrics.groups.length ? metrics.groups.slice(start, start + room).map((g) => h(Row, { key: g.group, g, name })) : room > 0 ? [h(Line, { key: 'none', dim: true }, 'No op calls in the window.')] : []),
  );
}
