import React from 'react';
import { Box, Text } from 'ink';
import type { Ticket } from '../../agents/tickets/repo.js';
import { age, count, fit, priorityTone, sentimentTone, statusTone } from '../format.js';
import { useTheme } from '../hooks/useTheme.js';
import { contentCols, contentRows, type Rect } from '../layout.js';
import { Line, Panel } from './Panel.js';
import { Tinted } from './Tinted.js';

const h = React.createElement;

interface Column {
  key: 'id' | 'priority' | 'status' | 'category' | 'sentiment' | 'age' | 'agent';
  label: string;
  width: number;
}

const all: Column[] = [
  { key: 'id', label: 'id', width: 6 },
  { key: 'priority', label: 'prio', width: 6 },
  { key: 'status', label: 'status', width: 12 },
  { key: 'category', label: 'category', width: 11 },
  { key: 'sentiment', label: 'mood', width: 4 },
  { key: 'age', label: 'age', width: 4 },
  { key: 'agent', label: 'agent', width: 12 },
];

/** The columns that fit, the title getting what is left (at least 16): agent, category and sentiment go first on narrow screens. */
export function ticketColumns(width: number): { columns: Column[]; title: number } {
  let columns = all;
  const used = (cs: Column[]) => 2 + cs.reduce((a, c) => a + c.width + 1, 0);
  for (const drop of ['agent', 'category', 'sentiment', 'age'] as const) {
    if (width - used(columns) >= 16) break;
    columns = columns.filter((c) => c.key !== drop);
  }
  return { columns, title: Math.max(4, width - used(columns)) };
}

const cell = (t: Ticket, key: Column['key'], now: number): string =>
  ({
    id: `#${t.id}`,
    priority: t.priority ?? '—',
    status: t.status,
    category: t.category ? `${t.category}${t.needsHuman ? '?' : ''}` : '—',
    sentiment: t.sentiment === 'negative' ? 'neg' : t.sentiment === 'positive' ? 'pos' : t.sentiment === 'neutral' ? 'neu' : '—',
    age: age(t.createdAt, now),
    agent: t.assignedAgent ?? '—',
  })[key];

const toneOf = (t: Ticket, key: Column['key']) =>
  key === 'status' ? statusTone[t.status] : key === 'priority' ? priorityTone[t.priority ?? ''] : key === 'sentiment' ? sentimentTone[t.sentiment ?? ''] : undefined;

export interface TicketsPanelProps {
  rect: Rect;
  focused: boolean;
  tickets: Ticket[];
  /** The index of tickets[0] among all matching tickets. */
  offset: number;
  total: number;
  selected: number;
  scope: 'open' | 'all';
  filter: string;
  loading: boolean;
  error?: string;
  now: number;
}

/** Live tickets, most urgent then oldest first, coloured by status, priority and sentiment. */
export function TicketsPanel(p: TicketsPanelProps) {
  const theme = useTheme();
  const width = contentCols(p.rect);
  const rows = contentRows(p.rect) - 1; // the column header
  const { columns, title } = ticketColumns(width);
  const note = `${p.filter ? `/${p.filter}  ` : ''}${p.total ? `${p.offset + 1}–${p.offset + p.tickets.length} of ${count(p.total)}` : '0'} ${p.scope === 'open' ? 'open' : 'in all'}`;
  const body: React.ReactNode[] = [];
  if (p.error) body.push(h(Line, { key: 'err', tone: 'red' }, `Cannot read the tickets: ${p.error}`));
  else if (!p.tickets.length) body.push(h(Line, { key: 'none', dim: true }, p.loading ? 'Loading…' : p.filter ? `No ${p.scope === 'open' ? 'open ' : ''}ticket matches "${p.filter}" (Esc clears the filter).` : p.scope === 'open' ? 'No open tickets. (a shows all)' : 'No tickets yet. (c creates one)'));
  for (const [i, t] of p.tickets.slice(0, Math.max(0, rows)).entries()) {
    const selected = p.offset + i === p.selected;
    body.push(
      h(
        Text,
        { key: t.id, wrap: 'truncate', inverse: selected && p.focused && theme.color, bold: selected },
        selected ? '› ' : '  ',
        ...columns.flatMap((c) => [h(Tinted, { key: c.key, tone: toneOf(t, c.key) }, fit(cell(t, c.key, p.now), c.width)), ' ']),
        fit(t.title, title),
      ),
    );
  }
  return h(
    Panel,
    { title: 'Tickets', note, focused: p.focused, rect: p.rect },
    h(Text, { key: 'head', wrap: 'truncate', dimColor: theme.color, underline: theme.color }, `  ${columns.map((c) => fit(c.label, c.width)).join(' ')} ${fit('title', title)}`),
    h(Box, { flexDirection: 'column' }, ...body),
  );
}
