import React from 'react';
import { toneColor, type Tone } from './format.js';

export interface Theme {
  /** False under NO_COLOR (or TERM=dumb): state is carried by words and marks only. */
  color: boolean;
}

export const ThemeContext = React.createContext<Theme>({ color: true });

/** The colour for a tone, or undefined when colour is off. */
export const colorOf = (theme: Theme, tone: Tone | undefined): string | undefined => (theme.color && tone ? toneColor[tone] : undefined);
