/** Where each panel goes for a terminal size: pure, so it is tested without a terminal. */

export type PanelName = 'tickets' | 'detail' | 'metrics' | 'health' | 'agents' | 'events' | 'tasks';

export interface Rect {
  width: number;
  height: number;
}

export interface Layout {
  kind: 'wide' | 'narrow' | 'tiny';
  /** Panels in the left (or only) column, top to bottom, and their sizes (borders included). */
  left: Array<{ name: PanelName; rect: Rect }>;
  right: Array<{ name: PanelName; rect: Rect }>;
  /** What Tab moves between, in order. */
  focusable: PanelName[];
}

/** Rows a panel's content gets: its height less two borders and the title line. */
export const contentRows = (r: Rect): number => Math.max(0, r.height - 3);
/** Columns a panel's content gets: its width less two borders. */
export const contentCols = (r: Rect): number => Math.max(0, r.width - 2);

const clamp = (v: number, lo: number, hi: number) => Math.max(lo, Math.min(hi, v));

export function computeLayout(size: { columns: number; rows: number }, opts: { detailOpen: boolean; groups: number; health: number; agents: number; tasks?: number }): Layout {
  const body = Math.max(3, size.rows - 2); // a header line and a footer line
  const columns = Math.max(20, size.columns);
  if (columns < 60 || body < 12) {
    const main: PanelName = opts.detailOpen ? 'detail' : 'tickets';
    return { kind: 'tiny', left: [{ name: main, rect: { width: columns, height: body } }], right: [], focusable: [main] };
  }
  if (columns < 110) {
    const metrics = clamp(opts.groups + 5, 5, Math.max(5, Math.floor(body * 0.3)));
    const events = clamp(Math.floor(body * 0.25), 4, 10);
    const main = body - metrics - events;
    const top: PanelName = opts.detailOpen ? 'detail' : 'tickets';
    return {
      kind: 'narrow',
      left: [
        { name: top, rect: { width: columns, height: main } },
        { name: 'metrics', rect: { width: columns, height: metrics } },
        { name: 'events', rect: { width: columns, height: events } },
      ],
      right: [],
      focusable: [top, 'metrics', 'events'],
    };
  }
  const leftWidth = Math.floor(columns * 0.6);
  const rightWidth = columns - leftWidth;
  const left: Layout['left'] = opts.detailOpen
    ? [{ name: 'detail', rect: { width: leftWidth, height: body } }]
    : (() => {
        const detail = clamp(Math.floor(body * 0.38), 8, 18);
        // The Tasks panel under the detail, as tall as its rows (within bounds), when the tickets keep 8 rows.
        const tasks = opts.tasks === undefined ? 0 : clamp(opts.tasks + 3, 4, 9);
        const withTasks = tasks > 0 && body - detail - tasks >= 8;
        return [
          { name: 'tickets' as const, rect: { width: leftWidth, height: body - detail - (withTasks ? tasks : 0) } },
          { name: 'detail' as const, rect: { width: leftWidth, height: detail } },
          ...(withTasks ? [{ name: 'tasks' as const, rect: { width: leftWidth, height: tasks } }] : []),
        ];
      })();
  // The right column: metrics, health and agents as tall as their rows (within bounds), the event log gets the rest.
  let metrics = clamp(opts.groups + 5, 6, 13); // title, column header, the all-groups row, borders
  let health = clamp(opts.health + 3, 4, 9);
  let agents = clamp(opts.agents + 3, 4, 11);
  const minEvents = 5;
  while (metrics + health + agents + minEvents > body && (agents > 4 || health > 4 || metrics > 6)) {
    if (agents > 4) agents--;
    else if (health > 4) health--;
    else if (metrics > 6) metrics--;
    else break;
  }
  const events = Math.max(3, body - metrics - health - agents);
  return {
    kind: 'wide',
    left,
    right: [
      { name: 'metrics', rect: { width: rightWidth, height: metrics } },
      { name: 'health', rect: { width: rightWidth, height: health } },
      { name: 'agents', rect: { width: rightWidth, height: agents } },
      { name: 'events', rect: { width: rightWidth, height: events } },
    ],
    focusable: opts.detailOpen ? ['detail', 'metrics', 'health', 'agents', 'events'] : ['tickets', 'detail', 'metrics', 'health', 'agents', 'events', ...left.filter((p) => p.name === 'tasks').map((p) => p.name)],
  };
}
