import React from 'react';
import { Box, Text, useApp, useInput, useWindowSize, type Key } from 'ink';
import { messageOf } from '../runtime/errors.js';
import { AgentsPanel } from './components/AgentsPanel.js';
import { DetailPanel } from './components/DetailPanel.js';
import { EventLog } from './components/EventLog.js';
import { HealthPanel } from './components/HealthPanel.js';
import { HelpPanel } from './components/HelpPanel.js';
import { MetricsPanel } from './components/MetricsPanel.js';
import { TasksPanel } from './components/TasksPanel.js';
import { TicketsPanel } from './components/TicketsPanel.js';
import { Tinted } from './components/Tinted.js';
import { clock, count, healthTone, type Tone } from './format.js';
import { defaultIntervals, useDashData, type Intervals } from './hooks/useDashData.js';
import { useInterval } from './hooks/useInterval.js';
import { useTicketDetail } from './hooks/useTicketDetail.js';
import { computeLayout, contentRows, type PanelName, type Rect } from './layout.js';
import type { DashSource } from './source.js';
import { ThemeContext } from './theme.js';

const h = React.createElement;

export interface AppProps {
  source: DashSource;
  /** Colour on (default) or off (NO_COLOR). */
  color?: boolean;
  /** The terminal size; default: the real one, following resizes. */
  size?: { columns: number; rows: number };
  intervals?: Partial<Intervals>;
}

type Overlay =
  | { kind: 'help' }
  | { kind: 'filter' | 'create'; value: string }
  | { kind: 'confirm'; question: string; answer: (yes: boolean) => void };

interface Message {
  text: string;
  tone: Tone;
}

const printable = (input: string, key: Key) => !key.ctrl && !key.meta && !key.tab && !key.return && !key.escape && input.length > 0 && ![...input].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f);

/** The dashboard: panels, keys, and the actions (resolve, create) through the source's ops. */
export function App(props: AppProps) {
  const window = useWindowSize();
  const size = props.size ?? window;
  const { exit } = useApp();
  const intervals = React.useMemo(() => ({ ...defaultIntervals, ...props.intervals }), [props.intervals]);

  const [scope, setScope] = React.useState<'open' | 'all'>('open');
  const [filter, setFilter] = React.useState('');
  const [selected, setSelected] = React.useState(0);
  const [offset, setOffset] = React.useState(0);
  const [detailOpen, setDetailOpen] = React.useState(false);
  const [focus, setFocus] = React.useState<PanelName>('tickets');
  const [scrolls, setScrolls] = React.useState<Partial<Record<PanelName, number>>>({});
  const [overlay, setOverlay] = React.useState<Overlay | null>(null);
  const [message, setMessage] = React.useState<Message | null>(null);
  const [busy, setBusy] = React.useState<string | null>(null);
  const [quitArmed, setQuitArmed] = React.useState(false);
  const [now, setNow] = React.useState(() => Date.now());
  useInterval(() => setNow(Date.now()), 15_000);

  // The ticket rows that fit: known once the layout is (below), which needs the data.
  const [pageRows, setPageRows] = React.useState(Math.max(1, size.rows - 12));

  // Keep the selection in view.
  const top = selected < offset ? selected : selected >= offset + pageRows ? selected - pageRows + 1 : offset;
  if (top !== offset) setOffset(top);

  const data = useDashData(props.source, { text: filter, scope, offset: top, limit: pageRows }, intervals);
  const layout = computeLayout(size, {
    detailOpen,
    groups: data.metrics?.groups.length ?? 0,
    health: (data.health?.services.length ?? 0) + (data.health?.dependencies.length ?? 0),
    agents: (data.agents?.agents.length ?? 0) + (data.agents?.studio?.length ?? 0),
    tasks: data.tasks?.tasks.length ?? 0,
  });
  const ticketsRect = [...layout.left, ...layout.right].find((p) => p.name === 'tickets')?.rect;
  const rowsNow = ticketsRect ? Math.max(1, contentRows(ticketsRect) - 1) : pageRows;
  if (rowsNow !== pageRows) setPageRows(rowsNow);
  const total = data.page?.total ?? 0;
  if (data.page && selected > 0 && selected >= total) setSelected(Math.max(0, total - 1));
  const current = data.page ? data.page.tickets[selected - data.page.offset] : undefined;
  const detail = useTicketDetail(props.source, current?.id, data.version);

  // A message fades after a while: the footer goes back to the key hints.
  React.useEffect(() => {
    if (!message) return;
    const timer = setTimeout(() => setMessage(null), 10_000);
    return () => clearTimeout(timer);
  }, [message]);

  if (!layout.focusable.includes(focus)) setFocus(layout.focusable[0]!);

  const scrollBy = (panel: PanelName, delta: number) => setScrolls((s) => ({ ...s, [panel]: Math.max(0, (s[panel] ?? 0) + delta) }));
  const select = (index: number) => {
    setSelected(Math.max(0, Math.min(index, total - 1)));
    setScrolls((s) => ({ ...s, detail: 0 }));
  };
  const ask = (question: string) => new Promise<boolean>((resolve) => setOverlay({ kind: 'confirm', question, answer: resolve }));

  const resolveSelected = async (id: number) => {
    setBusy(`Resolving #${id}…`);
    try {
      const r = await props.source.resolve(id, {
        ask: (q) => ask(q),
        progress: (m) => setBusy(`Resolving #${id}: ${m}`),
        warn: (m) => setMessage({ text: m, tone: 'warn' }),
      });
      setMessage({ text: `#${r.ticketId} ${r.outcome}: ${r.summary}`, tone: r.outcome === 'resolved' ? 'good' : r.outcome === 'escalated' ? 'bad' : 'warn' });
    } catch (err) {
      setMessage({ text: `Could not resolve #${id}: ${messageOf(err)}`, tone: 'bad' });
    } finally {
      setBusy(null);
      data.refresh();
    }
  };

  const create = async (text: string) => {
    setBusy('Creating the ticket…');
    try {
      const t = await props.source.create(text, { ask: async () => undefined, warn: (m) => setMessage({ text: m, tone: 'warn' }) });
      setMessage({ text: `Created #${t.id}: ${t.title} (r resolves it once selected)`, tone: 'good' });
    } catch (err) {
      setMessage({ text: `Could not create the ticket: ${messageOf(err)}`, tone: 'bad' });
    } finally {
      setBusy(null);
      data.refresh();
    }
  };

  useInput((input, key) => {
    if (overlay?.kind === 'confirm') {
      if (input === 'y' || input === 'Y') {
        setOverlay(null);
        overlay.answer(true);
      } else if (input === 'n' || input === 'N' || key.escape || key.return || input === 'q') {
        setOverlay(null);
        overlay.answer(false);
      }
      return;
    }
    if (overlay?.kind === 'filter' || overlay?.kind === 'create') {
      if (key.escape) return setOverlay(null);
      if (key.return) {
        const value = overlay.value.trim();
        setOverlay(null);
        if (overlay.kind === 'filter') {
          setFilter(value);
          select(0);
        } else if (value) void create(value);
        return;
      }
      if (key.backspace || key.delete) return setOverlay({ ...overlay, value: [...overlay.value].slice(0, -1).join('') });
      if (printable(input, key)) setOverlay({ ...overlay, value: overlay.value + input });
      return;
    }
    if (overlay?.kind === 'help') {
      if (key.escape || input === '?') return setOverlay(null);
      if (input !== 'q') return;
    }
    if (input === 'q') {
      if (busy && !quitArmed) {
        setQuitArmed(true);
        return setMessage({ text: `${busy} still runs: q again quits anyway (it stops where it is).`, tone: 'warn' });
      }
      return exit();
    }
    setQuitArmed(false);
    if (input === '?') return setOverlay({ kind: 'help' });
    if (key.tab) {
      const i = layout.focusable.indexOf(focus);
      const n = layout.focusable.length;
      return setFocus(layout.focusable[(i + (key.shift ? n - 1 : 1)) % n]!);
    }
    if (input === '/') return setOverlay({ kind: 'filter', value: filter });
    if (input === 'c') {
      if (busy) return setMessage({ text: `${busy} Wait for it to finish.`, tone: 'warn' });
      return setOverlay({ kind: 'create', value: '' });
    }
    if (input === 'a') {
      setScope((s) => (s === 'open' ? 'all' : 'open'));
      return select(0);
    }
    if (input === 'r') {
      if (busy) return setMessage({ text: `${busy} Wait for it to finish.`, tone: 'warn' });
      if (!current) return setMessage({ text: 'No ticket selected.', tone: 'warn' });
      const id = current.id;
      return setOverlay({
        kind: 'confirm',
        question: `Resolve #${id} "${current.title}"? The agents run its checks and fixes.`,
        answer: (yes) => (yes ? void resolveSelected(id) : setMessage({ text: `#${id} left as it is.`, tone: 'muted' })),
      });
    }
    if (key.return) {
      if ((focus === 'tickets' || focus === 'detail') && current) {
        setDetailOpen(true);
        setFocus('detail');
      }
      return;
    }
    if (key.escape) {
      if (detailOpen) {
        setDetailOpen(false);
        return setFocus('tickets');
      }
      if (filter) {
        setFilter('');
        return select(0);
      }
      return;
    }
    const page = Math.max(1, pageRows - 1);
    const delta = key.upArrow || input === 'k' ? -1 : key.downArrow || input === 'j' ? 1 : key.pageUp ? -page : key.pageDown ? page : 0;
    const target = focus === 'detail' && detailOpen ? 'detail' : focus;
    if (target === 'tickets' || (target === 'detail' && !detailOpen)) {
      if (input === 'g' || key.home) return select(0);
      if (input === 'G' || key.end) return select(total - 1);
      if (delta && target === 'tickets') return select(selected + delta);
      if (delta) return scrollBy('detail', delta);
      return;
    }
    if (target === 'events') {
      if (input === 'G' || key.end) return setScrolls((s) => ({ ...s, events: 0 }));
      if (delta) return scrollBy('events', -delta);
      return;
    }
    if (input === 'g' || key.home) return setScrolls((s) => ({ ...s, [target]: 0 }));
    if (delta) scrollBy(target, delta);
  });

  const panel = (name: PanelName, rect: Rect) => {
    const focused = focus === name && !overlay;
    const scroll = scrolls[name] ?? 0;
    switch (name) {
      case 'tickets':
        return h(TicketsPanel, { key: name, rect, focused, tickets: data.page?.tickets ?? [], offset: data.page?.offset ?? 0, total, selected, scope, filter, loading: !data.page, error: data.errors.tickets, now });
      case 'detail':
        return h(DetailPanel, { key: name, rect, focused, expanded: detailOpen, detail: current || detailOpen ? detail.detail : null, error: detail.error, scroll, now });
      case 'metrics':
        return h(MetricsPanel, { key: name, rect, focused, metrics: data.metrics, error: data.errors.metrics, scroll });
      case 'health':
        return h(HealthPanel, { key: name, rect, focused, health: data.health, error: data.errors.health, scroll });
      case 'agents':
        return h(AgentsPanel, { key: name, rect, focused, agents: data.agents, metrics: data.metrics, working: data.page?.byAgent ?? {}, error: data.errors.agents, scroll });
      case 'tasks':
        return h(TasksPanel, { key: name, rect, focused, tasks: data.tasks, error: data.errors.tasks, scroll, now });
      case 'events':
        return h(EventLog, { key: name, rect, focused, events: data.events, error: data.errors.events, scroll });
    }
  };

  const bodyHeight = Math.max(3, size.rows - 2);
  const body =
    overlay?.kind === 'help'
      ? h(HelpPanel, { rect: { width: size.columns, height: bodyHeight } })
      : h(
          Box,
          { flexDirection: 'row', height: bodyHeight },
          h(Box, { flexDirection: 'column' }, ...layout.left.map((p) => panel(p.name, p.rect))),
          layout.right.length ? h(Box, { flexDirection: 'column' }, ...layout.right.map((p) => panel(p.name, p.rect))) : null,
        );

  return h(
    ThemeContext.Provider,
    { value: { color: props.color ?? true } },
    h(Box, { flexDirection: 'column', width: size.columns, height: size.rows, overflow: 'hidden' }, h(Header, { data, source: props.source, compact: layout.kind !== 'wide' }), body, h(Footer, { overlay, busy, message })),
  );
}

function Header({ data, source, compact }: { data: ReturnType<typeof useDashData>; source: DashSource; compact: boolean }) {
  const byStatus = data.page?.byStatus ?? {};
  const all = Object.values(byStatus).reduce((a, b) => a + b, 0);
  const open = ['new', 'triaged', 'in_progress', 'waiting_approval', 'escalated', 'reopened'].reduce((a, s) => a + (byStatus[s] ?? 0), 0);
  const health = data.health?.status;
  const ready = data.agents?.agents.filter((a) => a.status === 'ready').length;
  return h(
    Text,
    { wrap: 'truncate' },
    h(Text, { bold: true }, 'twl dash'),
    ` · ${source.description} · ${count(open)} open of ${count(all)}`,
    byStatus.escalated ? h(Tinted, { tone: 'bad' }, ` · ${count(byStatus.escalated)} escalated`) : null,
    byStatus.waiting_approval ? h(Tinted, { tone: 'warn' }, ` · ${count(byStatus.waiting_approval)} waiting approval`) : null,
    compact && health ? h(Tinted, { tone: healthTone[health] }, ` · health ${health}`) : null,
    compact && data.agents ? ` · agents ${ready}/${data.agents.agents.length} ready` : null,
    data.errors.watch ? h(Tinted, { tone: 'bad' }, ` · not live: ${data.errors.watch}`) : null,
    data.updatedAt ? ` · ${clock(data.updatedAt)}` : ' · loading…',
  );
}

function Footer({ overlay, busy, message }: { overlay: Overlay | null; busy: string | null; message: Message | null }) {
  if (overlay?.kind === 'filter') return h(Text, { wrap: 'truncate' }, h(Text, { bold: true }, 'Filter: '), overlay.value, '█  (Enter applies, Esc cancels)');
  if (overlay?.kind === 'create') return h(Text, { wrap: 'truncate' }, h(Text, { bold: true }, 'New ticket: '), overlay.value, '█  (Enter creates, Esc cancels)');
  if (overlay?.kind === 'confirm') return h(Text, { wrap: 'truncate' }, h(Tinted, { tone: 'warn', bold: true }, overlay.question), ' [y/N]');
  if (busy) return h(Text, { wrap: 'truncate' }, h(Tinted, { tone: 'info' }, `… ${busy}`), message ? `  ${message.text}` : '');
  if (message) return h(Text, { wrap: 'truncate' }, h(Tinted, { tone: message.tone }, message.text));
  return h(Text, { wrap: 'truncate', dimColor: true }, '↑↓/jk move · Enter open · Esc back · Tab panel · / filter · a all · r resolve · c create · ? help · q quit');
}
