import React from 'react';
import { ThemeContext, type Theme } from '../theme.js';

export const useTheme = (): Theme => React.useContext(ThemeContext);
