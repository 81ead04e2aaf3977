import React from 'react';
import { cleanup, render as inkRender } from 'ink-testing-library';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { App } from '../../../src/ui/App.js';
import { emptyGroup } from '../../../src/ui/source.js';
import { FakeSource, ticket } from './fake-source.js';

const h = React.createElement;
const wide = { columns: 140, rows: 40 };

/**
 * ink-testing-library's stdout is 100 columns and has no rows: give it the terminal size
 * under test, and tell Ink it was resized (the path a real terminal takes).
 */
function render(tree: React.ReactElement<{ size?: { columns: number; rows: number } }>) {
  const { size, ...props } = tree.props;
  const r = inkRender(h(tree.type as typeof App, props as React.ComponentProps<typeof App>));
  const want = size ?? wide;
  Object.defineProperty(r.stdout, 'columns', { get: () => want.columns });
  Object.defineProperty(r.stdout, 'rows', { get: () => want.rows });
  r.stdout.emit('resize');
  return r;
}

// Escape sequences as a terminal sends them.
const keys = { up: '\u001B[A', down: '\u001B[B', enter: '\r', escape: '\u001B', tab: '\t', backspace: '\u007F' };

/** Lets the source's promises settle and Ink render (fake timers: nothing runs by itself). */
const settle = async (ms = 0) => {
  for (let i = 0; i < 5; i++) await vi.advanceTimersByTimeAsync(ms / 5);
};

// A lone Escape is told apart from the start of a sequence after a short wait.
const press = async (stdin: { write(data: string): void }, ...inputs: string[]) => {
  for (const input of inputs) {
    stdin.write(input);
    await settle(100);
  }
};

function seeded(): FakeSource {
  const s = new FakeSource();
  s.tickets_.push(
    ticket(1, { title: 'Printer jams on floor 3', priority: 'low', status: 'triaged', category: 'hardware', sentiment: 'neutral' }),
    ticket(2, { title: 'Database down for billing', priority: 'urgent', status: 'escalated', category: 'database', sentiment: 'negative', assignedAgent: 'real-resolver' }),
    ticket(3, { title: 'VPN slow in Lyon', priority: 'high', status: 'in_progress', category: 'network', sentiment: 'negative' }),
    ticket(4, { title: 'Old closed thing', priority: 'urgent', status: 'closed' }),
  );
  s.timeline.set(2, [
    { id: 10, at: '2026-03-01T10:02:00.000Z', actor: 'cli:alice', kind: 'created', step: null, status: 'ok', input: null, output: null, decision: null, durationMs: null },
    { id: 11, at: '2026-03-01T10:02:01.000Z', actor: 'real-resolver', kind: 'check', step: 'database_db_health', status: 'failed', input: null, output: null, decision: 'replica lag 40 s', durationMs: 12.5 },
  ]);
  return s;
}

beforeEach(() => {
  vi.useFakeTimers({ now: Date.parse('2026-03-01T12:00:00Z') });
});
afterEach(() => {
  cleanup();
  vi.useRealTimers();
});

describe('the dashboard', () => {
  it('shows every panel, open tickets by priority then age, and the selected ticket with its timeline', async () => {
    const { lastFrame } = render(h(App, { source: seeded(), size: wide, color: false }));
    await settle();
    const frame = lastFrame()!;
    for (const title of ['Tickets', 'Activity', 'Health', 'Agents', 'Events']) expect(frame).toContain(title);
    const order = ['Database down', 'VPN slow', 'Printer jams'].map((t) => frame.indexOf(t));
    expect(order.every((i) => i > 0)).toBe(true);
    expect(order).toEqual([...order].sort((a, b) => a - b));
    expect(frame).not.toContain('Old closed thing');
    // The first ticket is selected and shown with its timeline.
    expect(frame).toMatch(/› #2 +urgent escalated/);
    expect(frame).toContain('#2 Database down for billing');
    expect(frame).toContain('database_db_health 13ms — replica lag 40 s');
    expect(frame).toContain('3 open of 4');
  });

  it('moves with j/k and the arrows, opens with Enter and goes back with Esc', async () => {
    const { lastFrame, stdin } = render(h(App, { source: seeded(), size: wide, color: false }));
    await settle();
    await press(stdin, 'j');
    expect(lastFrame()).toMatch(/› #3 +high/);
    await press(stdin, keys.down);
    expect(lastFrame()).toMatch(/› #1 +low/);
    await press(stdin, keys.down); // past the end: stays
    expect(lastFrame()).toMatch(/› #1 +low/);
    await press(stdin, 'k', keys.up);
    expect(lastFrame()).toMatch(/› #2 +urgent/);
    await press(stdin, keys.enter);
    expect(lastFrame()).toContain('Esc back');
    expect(lastFrame()).not.toContain('prio'); // the ticket list gave its room to the ticket
    await press(stdin, keys.escape);
    expect(lastFrame()).toContain('prio');
  });

  it('moves the focus with Tab', async () => {
    const { lastFrame, stdin } = render(h(App, { source: seeded(), size: wide, color: false }));
    await settle();
    expect(lastFrame()).toContain('▶ Tickets');
    await press(stdin, keys.tab, keys.tab);
    expect(lastFrame()).toContain('▶ Activity');
    expect(lastFrame()).not.toContain('▶ Tickets');
  });

  it('filters with / and clears the filter with Esc', async () => {
    const source = seeded();
    const { lastFrame, stdin } = render(h(App, { source, size: wide, color: false }));
    await settle();
    await press(stdin, '/', 'v', 'p', 'x', keys.backspace, 'n');
    expect(lastFrame()).toContain('Filter: vpn█');
    await press(stdin, keys.enter);
    expect(source.queries.at(-1)).toMatchObject({ text: 'vpn' });
    expect(lastFrame()).toContain('VPN slow in Lyon');
    expect(lastFrame()).not.toContain('Printer jams');
    await press(stdin, keys.escape);
    expect(lastFrame()).toContain('Printer jams');
  });

  it('resolves the selected ticket only after a yes, and answers the resolver\'s approvals', async () => {
    const source = seeded();
    source.resolveQuestions = ['Run cache_cache_delete {"key":"x"}?'];
    const { lastFrame, stdin } = render(h(App, { source, size: wide, color: false }));
    await settle();
    await press(stdin, 'r');
    expect(lastFrame()).toContain('Resolve #2 "Database down for billing"? The agents run its checks and fixes. [y/N]');
    await press(stdin, 'n');
    expect(source.calls.resolve).toEqual([]);
    expect(lastFrame()).toContain('#2 left as it is.');
    await press(stdin, 'r', 'y');
    expect(source.calls.resolve).toEqual([2]);
    expect(lastFrame()).toContain('Run cache_cache_delete {"key":"x"}? [y/N]');
    await press(stdin, 'y');
    expect(source.answers).toEqual([true]);
    expect(lastFrame()).toContain('#2 resolved: cache flushed');
    // Resolved: out of the open list, which refreshed by itself.
    expect(lastFrame()).not.toContain('Database down for billing');
  });

  it('creates a ticket from a one-line input', async () => {
    const source = seeded();
    const { lastFrame, stdin } = render(h(App, { source, size: wide, color: false }));
    await settle();
    await press(stdin, 'c');
    expect(lastFrame()).toContain('New ticket: █');
    stdin.write('Mail is down');
    await settle();
    await press(stdin, keys.enter);
    expect(source.calls.create).toEqual(['Mail is down']);
    expect(lastFrame()).toContain('Created #5: Mail is down');
    expect(lastFrame()).toMatch(/created — Mail is down \(dash:test\)/);
  });

  it('shows a change made by another process as soon as the source reports it', async () => {
    const source = seeded();
    const { lastFrame } = render(h(App, { source, size: wide, color: false }));
    await settle();
    expect(source.watchers).toBe(1);
    source.add(ticket(9, { title: 'Wi-Fi lost in room B', priority: 'urgent', status: 'new' }), 'cli:bob');
    await settle();
    expect(lastFrame()).toMatch(/› #2 .*\n.*#9 +urgent new/); // urgent, then older first
    expect(lastFrame()).toMatch(/#9 created — Wi-Fi lost in room B \(cli:bob\)/);
    expect(lastFrame()).toContain('4 open of 5');
  });

  it('refreshes metrics on its interval, health and agents on theirs, and stops everything on unmount', async () => {
    const source = seeded();
    source.metricsValue = { ...source.metricsValue, all: { ...emptyGroup('all'), calls: 42, perMinute: [...new Array(14).fill(0), 3] }, groups: [{ ...emptyGroup('cache'), calls: 42, errors: 2, errorRate: 2 / 42, p95Ms: 3.4, perMinute: [...new Array(12).fill(0), 1, 8, 3] }] };
    const { lastFrame, unmount } = render(h(App, { source, size: wide, color: false, intervals: { metricsMs: 5000, healthMs: 10_000, agentsMs: 30_000 } }));
    await settle();
    expect(source.calls).toMatchObject({ metrics: 1, health: 1, agents: 1 });
    expect(lastFrame()).toMatch(/cache +3 +3\.4ms +4\.8% +·+▁█▃/);
    await settle(10_000);
    expect(source.calls).toMatchObject({ metrics: 3, health: 2, agents: 1 });
    unmount();
    await settle(60_000);
    expect(source.calls).toMatchObject({ metrics: 3, health: 2, agents: 1 });
    expect(source.watchers).toBe(0);
  });

  it('fits a narrow terminal: tickets, activity and events, health in the header', async () => {
    const { lastFrame } = render(h(App, { source: seeded(), size: { columns: 80, rows: 30 }, color: false }));
    await settle();
    const frame = lastFrame()!;
    expect(frame).toContain('Tickets');
    expect(frame).toContain('Events');
    expect(frame).not.toContain('Agents');
    expect(frame).toContain('health ok');
    for (const line of frame.split('\n')) expect([...line].length).toBeLessThanOrEqual(80);
    expect(frame.split('\n').length).toBeLessThanOrEqual(30);
  });

  it('shows help with ? and closes it with Esc', async () => {
    const { lastFrame, stdin } = render(h(App, { source: seeded(), size: wide, color: false }));
    await settle();
    await press(stdin, '?');
    expect(lastFrame()).toContain('resolve the selected ticket (asks first)');
    await press(stdin, keys.escape);
    expect(lastFrame()).toContain('Tickets');
    expect(lastFrame()).not.toContain('resolve the selected ticket (asks first)');
  });

  it('colours nothing without colour, and still marks the selection', async () => {
    const { stdout } = render(h(App, { source: seeded(), size: wide, color: false }));
    await settle();
    expect(stdout.frames.join('')).not.toMatch(new RegExp(`${String.fromCharCode(27)}\\[3\\dm`));
    expect(stdout.lastFrame()).toContain('›');
  });

  it('shows the Tasks panel (running first, next run, last execution) and updates it when the change feed says a task changed', async () => {
    const source = seeded();
    const at = (min: number) => new Date(Date.parse('2026-03-01T12:00:00Z') + min * 60_000).toISOString();
    source.tasksValue = {
      byStatus: { running: 1, scheduled: 1, failed: 1 },
      tasks: [
        { id: 9, name: null, what: 'fx_ticks', status: 'running', reason: null, trigger: 'now', cron: null, nextRun: null, last: { id: 31, status: 'running', attempt: 2, startedAt: at(-0.5), endedAt: null } },
        { id: 8, name: 'nightly backup', what: 'database_execute_query', status: 'scheduled', reason: null, trigger: 'cron', cron: '0 3 * * *', nextRun: at(5), last: { id: 30, status: 'completed', attempt: 1, startedAt: at(-1442), endedAt: at(-1440) } },
        { id: 7, name: null, what: 'cache_cache_set', status: 'failed', reason: 'the key was refused', trigger: 'now', cron: null, nextRun: null, last: null },
      ],
    };
    const { lastFrame } = render(h(App, { source, size: wide, color: false }));
    await settle();
    const frame = lastFrame()!;
    expect(frame).toContain('Tasks');
    expect(frame).toContain('1 running · 1 scheduled · 1 failed');
    expect(frame).toMatch(/#9 +running +fx_ticks +#31 running 30s/);
    expect(frame).toMatch(/#8 +scheduled +nightly backup +next in 5m +#30 completed 24h ago/);
    expect(frame).toMatch(/#7 +failed +cache_cache_set +never ran · the key was/);
    const before = source.calls.tasks;
    source.taskChanged({ ...source.tasksValue, byStatus: { completed: 1, scheduled: 1, failed: 1 }, tasks: [{ ...source.tasksValue.tasks[0]!, status: 'completed', last: { id: 31, status: 'completed', attempt: 2, startedAt: at(-0.5), endedAt: at(0) } }, ...source.tasksValue.tasks.slice(1)] });
    await settle();
    expect(source.calls.tasks).toBe(before + 1);
    expect(lastFrame()).toMatch(/#9 +completed +fx_ticks +#31 completed 0s ago/);
  });

  it('leaves the Tasks panel out when the tickets would have fewer than 8 rows', async () => {
    const source = seeded();
    source.tasksValue = { byStatus: { pending: 1 }, tasks: [{ id: 1, name: null, what: 'x', status: 'pending', reason: null, trigger: 'now', cron: null, nextRun: null, last: null }] };
    const { lastFrame } = render(h(App, { source, size: { columns: 140, rows: 20 }, color: false }));
    await settle();
    expect(lastFrame()).toContain('Tickets');
    expect(lastFrame()).not.toContain('Tasks');
  });
});
