import React from 'react';
import { Box, Text } from 'ink';
import type { TicketEvent } from '../../agents/tickets/repo.js';
import { age, clock, eventMark, ms, priorityTone, sentimentTone, statusTone } from '../format.js';
import { contentCols, contentRows, type Rect } from '../layout.js';
import type { TicketDetail } from '../source.js';
import { Line, Panel } from './Panel.js';
import { Tinted } from './Tinted.js';

const h = React.createElement;

const eventTone: Record<TicketEvent['status'], 'good' | 'bad' | 'muted' | 'warn'> = { ok: 'good', failed: 'bad', skipped: 'muted', cancelled: 'muted', waiting: 'warn' };

export interface DetailPanelProps {
  rect: Rect;
  focused: boolean;
  /** Opened with Enter: the whole column, the full text. */
  expanded: boolean;
  detail: TicketDetail | null;
  error: string | null;
  /** First timeline row shown (j/k scroll when focused). */
  scroll: number;
  now: number;
}

/** The selected ticket: its fields, text, outcome and timeline (every step with who, duration and decision). */
export function DetailPanel(p: DetailPanelProps) {
  const width = contentCols(p.rect);
  const rows = contentRows(p.rect);
  if (!p.detail) {
    return h(Panel, { title: 'Ticket', focused: p.focused, rect: p.rect }, h(Line, { dim: true, tone: p.error ? 'red' : undefined }, p.error ?? 'No ticket selected.'));
  }
  const t = p.detail.ticket;
  const head: React.ReactNode[] = [
    h(Text, { key: 'f1', wrap: 'truncate' }, h(Tinted, { tone: statusTone[t.status], bold: true }, t.status), ' · ', h(Tinted, { tone: priorityTone[t.priority ?? ''] }, t.priority ?? 'no priority'), ` · ${t.category ?? 'uncategorised'}${t.confidence !== null ? ` (${t.confidence.toFixed(2)})` : ''}${t.needsHuman ? ' · needs a human' : ''} · `, h(Tinted, { tone: sentimentTone[t.sentiment ?? ''] }, t.sentiment ?? 'sentiment —'), ` · urgency ${t.urgency ?? '—'}`),
    h(Line, { key: 'f2', dim: true }, `agent ${t.assignedAgent ?? '—'} · requester ${t.requester ?? '—'} · ${t.source} · ${age(t.createdAt, p.now)} old`),
  ];
  const textLines = p.expanded ? Math.max(1, Math.min(6, rows - 8)) : 1;
  const text = t.text.replace(/\s+/g, ' ');
  for (let i = 0; i < textLines && i * width < text.length; i++) head.push(h(Line, { key: `t${i}` }, text.slice(i * width, (i + 1) * width)));
  if (t.resolution) head.push(h(Line, { key: 'res', tone: 'green' }, `Resolution: ${t.resolution}`));
  if (t.escalationReason) head.push(h(Line, { key: 'esc', tone: 'red' }, `Escalated: ${t.escalationReason}`));
  const room = Math.max(0, rows - head.length - 1);
  const events = p.detail.timeline;
  const start = Math.max(0, Math.min(p.scroll, events.length - room));
  const shown = events.slice(start, start + room);
  return h(
    Panel,
    { title: `#${t.id} ${t.title}`, note: p.expanded ? 'Esc back' : 'Enter opens', focused: p.focused, rect: p.rect },
    ...head,
    h(Line, { key: 'tl', bold: true }, `Timeline (${events.length})${events.length > room ? ` ${start + 1}–${start + shown.length}` : ''}`),
    h(
      Box,
      { key: 'rows', flexDirection: 'column' },
      ...shown.map((e) =>
        h(
          Text,
          { key: e.id, wrap: 'truncate' },
          h(Tinted, { tone: eventTone[e.status] }, eventMark[e.status] ?? '·'),
          ` ${clock(e.at)} ${e.actor} ${e.step ?? e.kind}${e.durationMs !== null ? ` ${ms(e.durationMs)}` : ''}${e.decision ? ` — ${e.decision.replace(/\s+/g, ' ')}` : ''}`,
        ),
      ),
    ),
  );
}
