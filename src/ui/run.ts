import React from 'react';
import { render } from 'ink';
import { App } from './App.js';
import type { Intervals } from './hooks/useDashData.js';
import type { DashSource } from './source.js';

export interface RunOptions {
  color: boolean;
  intervals?: Partial<Intervals>;
}

/**
 * Runs the dashboard on the terminal until q or Ctrl-C, in the alternate screen: when it
 * ends, for whatever reason (q, Ctrl-C, an error in a component), Ink leaves raw mode and
 * the screen is as it was before.
 */
export async function runDashboard(source: DashSource, options: RunOptions): Promise<void> {
  const instance = render(React.createElement(App, { source, color: options.color, intervals: options.intervals }), {
    alternateScreen: true,
    exitOnCtrlC: true,
    patchConsole: true,
    incrementalRendering: true,
    maxFps: 20,
  });
  const stop = () => instance.unmount();
  process.once('SIGTERM', stop);
  process.once('SIGHUP', stop);
  try {
    await instance.waitUntilExit();
  } finally {
    process.off('SIGTERM', stop);
    process.off('SIGHUP', stop);
  }
}
