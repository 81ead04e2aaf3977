import React from 'react';
import { Text } from 'ink';
import { clock, eventMark } from '../format.js';
import { contentRows, type Rect } from '../layout.js';
import type { LogEntry } from '../source.js';
import { Line, Panel } from './Panel.js';
import { Tinted } from './Tinted.js';

const h = React.createElement;

const tone = { ok: 'good', failed: 'bad', skipped: 'muted', cancelled: 'muted', waiting: 'warn' } as const;

/**
 * What just happened, newest at the bottom: every step on every ticket's timeline, from any
 * process. A fixed-height panel of a full-screen dashboard, so not <Static>: its rows would
 * scroll off above the frame, and the alternate screen has no scrollback to keep them.
 */
export function EventLog({ rect, focused, events, error, scroll }: { rect: Rect; focused: boolean; events: LogEntry[]; error?: string; scroll: number }) {
  const room = contentRows(rect);
  // scroll counts rows up from the newest.
  const end = Math.max(0, events.length - Math.max(0, Math.min(scroll, events.length - room)));
  const shown = events.slice(Math.max(0, end - room), end);
  return h(
    Panel,
    { title: 'Events', note: error ? 'stale' : scroll ? `${scroll} up` : 'live', focused, rect },
    ...(shown.length
      ? shown.map((e) =>
          h(
            Text,
            { key: e.id, wrap: 'truncate' },
            h(Tinted, { tone: tone[e.status] }, eventMark[e.status] ?? '·'),
            ` ${clock(e.at)} #${e.ticketId} ${e.kind}${e.decision ? ` ${e.decision.replace(/\s+/g, ' ')}` : ''} — ${e.title} (${e.actor})`,
          ),
        )
      : [h(Line, { key: 'none', dim: !error, tone: error ? 'red' : undefined }, error ?? 'Nothing yet.')]),
  );
}
