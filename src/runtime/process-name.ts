import os from 'node:os';

/**
 * This process as twl names it on shared records: its host and pid. `host pid N` on what it holds
 * in the store (a workflow run's lease, a retention pass's claim, which adds its role and a tag),
 * `host:pid` with `separator: ':'` (a task worker's default name on its executions).
 */
export const processName = (separator = ' pid ') => `${os.hostname()}${separator}${process.pid}`;
