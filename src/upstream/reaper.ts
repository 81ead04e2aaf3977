import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';

/**
 * Makes sure no upstream child outlives twl, however twl ends.
 *
 * Each child runs in its own process group (see groupLauncher in stdio-transport.ts), so a stop kills the server and
 * everything it started (npx → node, shells). Three layers, from gentle to certain:
 * - `stop()` on each child: stdin closed, SIGTERM to the group, SIGKILL after the grace period;
 * - on a normal exit of twl (`process.exit`, end of the event loop), a synchronous SIGTERM to
 *   every group still registered;
 * - a watchdog: one small detached process per twl process, holding a pipe from twl. When twl
 *   dies in any way (SIGKILL and crashes included) the pipe closes, and the watchdog sends
 *   SIGTERM, then SIGKILL, to every group twl had registered, then exits. Linux has no portable
 *   "kill my children when I die" for a whole tree; this is that, in user space.
 */
const watchdogSource = `
const groups = new Set();
let buffer = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  buffer += chunk;
  let i;
  while ((i = buffer.indexOf('\\n')) >= 0) {
    const line = buffer.slice(0, i); buffer = buffer.slice(i + 1);
    const pgid = Number(line.slice(1));
    if (!Number.isInteger(pgid) || pgid <= 1) continue;
    if (line[0] === '+') groups.add(pgid); else groups.delete(pgid);
  }
});
const killAll = (signal) => { for (const g of groups) { try { process.kill(-g, signal); } catch {} try { process.kill(g, signal); } catch {} } };
const finish = () => {
  killAll('SIGTERM');
  setTimeout(() => { killAll('SIGKILL'); process.exit(0); }, Number(process.argv[1]) || 2000);
};
process.stdin.on('end', finish);
process.stdin.on('error', finish);
for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(s, () => {});
`;

const groups = new Set<number>();
let watchdog: ChildProcess | undefined;
let exitHook = false;

function ensureWatchdog(graceMs: number): void {
  if (watchdog && watchdog.exitCode === null && !watchdog.killed) return;
  // Its own process group, so a Ctrl-C on twl's terminal does not end it before it has reaped;
  // a bare environment: it needs none of twl's, secrets included.
  watchdog = spawn(process.execPath, ['-e', watchdogSource, String(graceMs)], { detached: true, stdio: ['pipe', 'ignore', 'ignore'], env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } });
  watchdog.on('error', () => {
    watchdog = undefined;
  });
  watchdog.stdin!.on('error', () => {});
  // Neither the process nor its pipe keeps twl's event loop alive.
  watchdog.unref();
  (watchdog.stdin as unknown as { unref?: () => void }).unref?.();
  for (const g of groups) watchdog.stdin!.write(`+${g}\n`);
}

/** Records a child's process group so that it is reaped when twl ends. */
export function registerGroup(pgid: number, graceMs = 2000): void {
  groups.add(pgid);
  if (!exitHook) {
    exitHook = true;
    process.once('exit', () => {
      for (const g of groups) killGroup(g, 'SIGTERM');
    });
  }
  ensureWatchdog(graceMs);
  watchdog?.stdin?.write(`+${pgid}\n`);
}

/** Forgets a group once it is known to be gone. */
export function unregisterGroup(pgid: number): void {
  if (!groups.delete(pgid)) return;
  watchdog?.stdin?.write(`-${pgid}\n`);
}

/** Signals a whole process group; false when it no longer exists. */
export function killGroup(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

/** Whether any process of the group is still alive (signal 0 probes without sending). */
export const groupAlive = (pgid: number): boolean => killGroup(pgid, 0 as unknown as NodeJS.Signals);

/**
 * Whether a process of the group still runs. Signal 0 also reaches zombies, which a container's
 * pid 1 may never reap, so on Linux /proc says which members are more than a zombie.
 */
function groupRunning(pgid: number): boolean {
  if (!groupAlive(pgid)) return false;
  if (process.platform !== 'linux') return true;
  let entries: string[];
  try {
    entries = fs.readdirSync('/proc');
  } catch {
    return true;
  }
  for (const entry of entries) {
    if (entry.charCodeAt(0) > 57) continue; // not a pid
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      // After the command's closing parenthesis: state, ppid, pgrp.
      const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ', 3);
      if (Number(pgrp) === pgid && state !== 'Z' && state !== 'X') return true;
    } catch {
      // gone meanwhile
    }
  }
  return false;
}

/**
 * Resolves once no process of the group runs, or after `ms`. A SIGKILL is delivered, not
 * awaited: a process that was sent one may still be tearing down its memory, and its group's
 * leader being reaped says nothing of the others. A stop waits for the whole group, so what
 * twl stopped is gone when the stop returns (its ports, locks and files released).
 */
export async function groupGone(pgid: number, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  for (;;) {
    if (!groupRunning(pgid)) return true;
    if (Date.now() >= end) return false;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** The watchdog's pid (tests check it exits with twl's groups reaped). */
export const watchdogPid = (): number | undefined => watchdog?.pid;
