import React from 'react';
import { Box, Text } from 'ink';
import { useTheme } from '../hooks/useTheme.js';
import type { Rect } from '../layout.js';

const h = React.createElement;

export interface PanelProps {
  title: string;
  /** Said on the right of the title line: counts, the filter, the time. */
  note?: string;
  focused: boolean;
  rect: Rect;
  children?: React.ReactNode;
}

/** A bordered panel with a title line; the focused one has a double border (visible without colour too). */
export function Panel({ title, note, focused, rect, children }: PanelProps) {
  const theme = useTheme();
  return h(
    Box,
    { flexDirection: 'column', width: rect.width, height: rect.height, borderStyle: focused ? 'double' : 'round', borderColor: theme.color ? (focused ? 'cyan' : 'gray') : undefined, overflow: 'hidden' },
    h(
      Box,
      { justifyContent: 'space-between', height: 1, flexShrink: 0, overflow: 'hidden' },
      h(Box, { flexShrink: 0, maxWidth: Math.max(8, rect.width - 4) }, h(Text, { bold: true, color: theme.color && focused ? 'cyan' : undefined, wrap: 'truncate' }, `${focused ? '▶ ' : ''}${title}`)),
      note ? h(Box, { flexShrink: 1, marginLeft: 1 }, h(Text, { dimColor: theme.color, wrap: 'truncate' }, note)) : null,
    ),
    children,
  );
}

/** One line of text, cut to the panel's width. */
export function Line({ children, tone, bold, dim }: { children?: React.ReactNode; tone?: string; bold?: boolean; dim?: boolean }) {
  const theme = useTheme();
  return h(Text, { wrap: 'truncate', color: theme.color ? tone : undefined, bold, dimColor: theme.color && dim }, children);
}
