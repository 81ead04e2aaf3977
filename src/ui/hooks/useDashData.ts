import React from 'react';
import { messageOf } from '../../runtime/errors.js';
import type { AgentsView, DashSource, HealthView, LogEntry, Metrics, TasksView, TicketPage, TicketQuery } from '../source.js';
import { useInterval } from './useInterval.js';
import { useSerial } from './useSerial.js';

export interface Intervals {
  /** Metrics (op calls of every twl process). */
  metricsMs: number;
  /** Services health. */
  healthMs: number;
  /** Agents and their state. */
  agentsMs: number;
  /** The ticket page even without a change (ages move on). */
  ticketsMs: number;
  /** The Tasks panel even without a change (next runs and ages move on). */
  tasksMs: number;
}

export const defaultIntervals: Intervals = { metricsMs: 5000, healthMs: 10_000, agentsMs: 30_000, ticketsMs: 30_000, tasksMs: 30_000 };

export interface DashData {
  /** The ticket page, with the offset it was read at. */
  page: (TicketPage & { offset: number }) | null;
  events: LogEntry[];
  metrics: Metrics | null;
  health: HealthView | null;
  agents: AgentsView | null;
  tasks: TasksView | null;
  /** Per panel, the last failure to read it (cleared by the next success). */
  errors: Partial<Record<'tickets' | 'events' | 'metrics' | 'health' | 'agents' | 'tasks' | 'watch', string>>;
  /** Bumped on every change seen in the store: the detail panel reloads on it. */
  version: number;
  updatedAt: string | null;
}

const EVENTS_KEPT = 200;
/** Tasks read for the panel (it shows what fits). */
const TASKS_SHOWN = 20;

/** What is compared to tell a change: metrics without the time they were read at (health shows its check time, so it always counts). */
const stable = (key: string, value: unknown): unknown => {
  if (!value || typeof value !== 'object') return value;
  if (key === 'metrics') return { ...(value as object), at: undefined };
  return value;
};

/** An effect's body for a source's watch: resolves to its unsubscribe, which the cleanup calls (even when it comes late). */
function subscribe(started: Promise<() => Promise<void>>, onError: (err: unknown) => void): () => void {
  let stop: (() => Promise<void>) | undefined;
  let cancelled = false;
  started.then((s) => (cancelled ? void s() : (stop = s)), onError);
  return () => {
    cancelled = true;
    void stop?.();
  };
}

/** Every panel's data, kept live: ticket changes from the source's watch, the rest on intervals. */
export function useDashData(source: DashSource, query: TicketQuery, intervals: Intervals = defaultIntervals): DashData & { refresh: () => void } {
  const [data, setData] = React.useState<DashData>({ page: null, events: [], metrics: null, health: null, agents: null, tasks: null, errors: {}, version: 0, updatedAt: null });
  const queryRef = React.useRef(query);
  queryRef.current = query;
  const lastEvent = React.useRef<number | undefined>(undefined);

  const fail = (panel: keyof DashData['errors'], err: unknown) => setData((d) => ({ ...d, errors: { ...d.errors, [panel]: messageOf(err) } }));
  // Unchanged data keeps the same state: no re-render, no terminal write (calm, and cheap when idle).
  const ok = (panel: keyof DashData['errors'], patch: Partial<DashData>) =>
    setData((d) => {
      const same = !(panel in d.errors) && Object.entries(patch).every(([k, v]) => JSON.stringify(stable(k, v)) === JSON.stringify(stable(k, d[k as keyof DashData])));
      if (same) return d;
      const errors = { ...d.errors };
      delete errors[panel];
      return { ...d, ...patch, errors, updatedAt: new Date().toISOString() };
    });

  const loadTickets = useSerial(async () => {
    try {
      const q = queryRef.current;
      ok('tickets', { page: { ...(await source.tickets(q)), offset: q.offset } });
    } catch (err) {
      fail('tickets', err);
    }
  });
  const loadEvents = useSerial(async () => {
    try {
      const fresh = await source.events(lastEvent.current, 50);
      if (lastEvent.current !== undefined && !fresh.length) return;
      if (fresh.length) lastEvent.current = fresh.at(-1)!.id;
      else lastEvent.current ??= 0;
      setData((d) => {
        const errors = { ...d.errors };
        delete errors.events;
        return { ...d, events: [...d.events, ...fresh].slice(-EVENTS_KEPT), errors };
      });
    } catch (err) {
      fail('events', err);
    }
  });
  const loadMetrics = useSerial(async () => {
    try {
      ok('metrics', { metrics: await source.metrics() });
    } catch (err) {
      fail('metrics', err);
    }
  });
  const loadHealth = useSerial(async () => {
    try {
      ok('health', { health: await source.health() });
    } catch (err) {
      fail('health', err);
    }
  });
  const loadAgents = useSerial(async () => {
    try {
      ok('agents', { agents: await source.agents() });
    } catch (err) {
      fail('agents', err);
    }
  });

  const loadTasks = useSerial(async () => {
    try {
      ok('tasks', { tasks: await source.tasks(TASKS_SHOWN) });
    } catch (err) {
      fail('tasks', err);
    }
  });

  // Task and execution statuses, from the change feed: the Tasks panel.
  React.useEffect(() => subscribe(source.watchTasks(() => loadTasks()), (err) => fail('tasks', err)), [source]);

  // Changes made anywhere: the tickets, the log and (through version) the open detail.
  React.useEffect(
    () =>
      subscribe(
        source.watch(() => {
          setData((d) => ({ ...d, version: d.version + 1 }));
          loadTickets();
          loadEvents();
        }),
        (err) => fail('watch', err),
      ),
    [source],
  );

  React.useEffect(() => loadTickets(), [loadTickets, query.text, query.scope, query.offset, query.limit]);
  React.useEffect(() => {
    loadEvents();
    loadMetrics();
    loadHealth();
    loadAgents();
    loadTasks();
  }, [loadEvents, loadMetrics, loadHealth, loadAgents, loadTasks]);
  useInterval(loadTickets, intervals.ticketsMs);
  useInterval(loadMetrics, intervals.metricsMs);
  useInterval(loadHealth, intervals.healthMs);
  useInterval(loadAgents, intervals.agentsMs);
  useInterval(loadTasks, intervals.tasksMs);

  const refresh = React.useCallback(() => {
    loadTickets();
    loadEvents();
    loadMetrics();
    setData((d) => ({ ...d, version: d.version + 1 }));
  }, [loadTickets, loadEvents, loadMetrics]);

  return { ...data, refresh };
}
