import React from 'react';
import { Box, Text } from 'ink';
import type { Rect } from '../layout.js';
import { Panel } from './Panel.js';

const h = React.createElement;

export const keys: Array<[string, string]> = [
  ['↑ ↓  j k', 'move in the focused panel (PgUp PgDn, g G: page, top, bottom)'],
  ['Enter', 'open the selected ticket (its whole timeline)'],
  ['Esc', 'back, cancel, or clear the filter'],
  ['Tab  Shift-Tab', 'next / previous panel'],
  ['/', 'filter tickets by words in the title or text'],
  ['a', 'open tickets only / every ticket'],
  ['r', 'resolve the selected ticket (asks first)'],
  ['c', 'create a ticket'],
  ['?', 'this help'],
  ['q  Ctrl-C', 'quit'],
];

export function HelpPanel({ rect }: { rect: Rect }) {
  return h(
    Panel,
    { title: 'Keys', note: 'Esc or ? closes', focused: true, rect },
    h(Box, { flexDirection: 'column' }, ...keys.map(([k, what]) => h(Text, { key: k, wrap: 'truncate' }, h(Text, { bold: true }, k.padEnd(16)), what))),
    h(Text, { wrap: 'wrap' }, '\nTickets sort by priority, then age. Activity counts the op calls of every twl process (CLI, serve, worker) from the store. Colours follow status and sentiment; NO_COLOR turns them off.'),
  );
}
