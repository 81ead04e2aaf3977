import React from 'react';
import { Text } from 'ink';
import type { Tone } from '../format.js';
import { useTheme } from '../hooks/useTheme.js';
import { colorOf } from '../theme.js';

const h = React.createElement;

/** Text in a tone's colour, or plain under NO_COLOR. */
export function Tinted({ tone, bold, children }: { tone?: Tone; bold?: boolean; children?: React.ReactNode }) {
  const theme = useTheme();
  return h(Text, { color: colorOf(theme, tone), bold }, children);
}
