import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/** Whether tmux is here; under CI=true its absence fails the run (.ci/run installs it), never a silent skip. */
export const hasTmux = existsSync('/usr/bin/tmux');
if (!hasTmux && process.env.CI === 'true') throw new Error('tmux (/usr/bin/tmux) is missing, and CI=true requires it for the real-terminal tests: .ci/run installs it.');

export const shellQuote = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;

/** One tmux server per test on its own socket, so nothing the user runs is touched: a real terminal for twl. */
export class Tmux {
  readonly socket = `twl-e2e-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  run(...args: string[]): string {
    return execFileSync('tmux', ['-L', this.socket, '-f', '/dev/null', ...args], { encoding: 'utf8' });
  }
  start(command: string, columns = 140, rows = 40): void {
    this.run('new-session', '-d', '-s', 'dash', '-x', String(columns), '-y', String(rows), command);
    this.run('set-option', '-t', 'dash', 'remain-on-exit', 'on');
  }
  pane(): string {
    return this.run('capture-pane', '-p', '-t', 'dash');
  }
  async waitFor(what: (pane: string) => boolean, ms: number): Promise<string> {
    const deadline = Date.now() + ms;
    let pane = '';
    while (Date.now() < deadline) {
      pane = this.pane();
      if (what(pane)) return pane;
      await sleep(50);
    }
    throw new Error(`not on screen within ${ms} ms:\n${pane}`);
  }
  kill(): void {
    try {
      this.run('kill-server');
    } catch {
      // already gone
    }
  }
}

/**
 * The exit status a shell wrote with `command; echo $? > file`. Waits for the whole line: the
 * shell creates the file before it writes to it, so a file that exists may still be empty.
 */
export async function exitStatus(file: string, ms = 60_000): Promise<string> {
  const deadline = Date.now() + ms;
  for (;;) {
    const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
    if (text.endsWith('\n')) return text.trim();
    if (Date.now() >= deadline) throw new Error(`no exit status in ${file} within ${ms} ms (${JSON.stringify(text)})`);
    await sleep(50);
  }
}
