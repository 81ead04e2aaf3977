import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { groupAlive, groupGone } from '../../src/upstream/reaper.js';
import { procStat, tempHome, waitFor } from '../helpers.js';

/**
 * groupGone, on real process groups: a stop of an upstream child returns only once its whole group
 * is gone. A SIGKILL is delivered, not awaited, and a group's leader being reaped says nothing of
 * the others (a CI run once saw a grandchild still running right after a stop returned).
 */
const started: ChildProcess[] = [];
const { home, cleanup } = tempHome('twl-group-gone-');
afterEach(() => {
  for (const p of started.splice(0)) if (p.pid) try { process.kill(-p.pid, 'SIGKILL'); } catch { /* gone */ }
});
afterAll(() => cleanup());

/** Starts perl in a new process group (`args` are its @ARGV); resolves with the first line it prints. */
function perl(script: string, args: string[] = []): Promise<{ pid: number; line: string; exited: Promise<void> }> {
  const p = spawn('perl', ['-e', `$| = 1; ${script}`, ...args], { detached: true, stdio: ['ignore', 'pipe', 'ignore'] });
  started.push(p);
  const exited = new Promise<void>((resolve) => p.once('exit', () => resolve()));
  return new Promise((resolve) => p.stdout!.once('data', (d: Buffer) => resolve({ pid: p.pid!, line: String(d).trim(), exited })));
}

describe('groupGone (real process groups)', () => {
  it('waits for a member that outlives the leader, and says false when the bound passes first', async () => {
    // The leader prints and exits; its child stays in the group for as long as the file `hold` is there.
    const hold = path.join(home, 'hold');
    writeFileSync(hold, '');
    const { pid, exited } = await perl('if (fork) { print "up\\n"; exit 0 } select(undef, undef, undef, 0.01) while -e $ARGV[0]; exit 0', [hold]);
    await exited; // the leader is gone (reaped by this process): only its child is left in the group
    expect(await groupGone(pid, 50)).toBe(false);
    const gone = groupGone(pid, 30_000);
    let settled = false;
    void gone.then(() => (settled = true));
    await new Promise((r) => setImmediate(r));
    expect(settled).toBe(false); // still waiting: the member runs until the file goes
    rmSync(hold);
    expect(await gone).toBe(true);
  });

  it('a group left with only a zombie is gone (signal 0 still reaches it; a container\'s pid 1 may never reap it)', async () => {
    // The child makes a group of its own and exits; its parent (in another group) never reaps it.
    const { line } = await perl('my $c = fork; if (!$c) { setpgrp(0, 0); exit 0 } print "$c\\n"; sleep 30');
    const zombie = Number(line);
    await waitFor('the child to be a zombie leading its own group', () => {
      const stat = procStat(zombie);
      return stat?.state === 'Z' && stat.pgrp === zombie ? true : undefined;
    });
    expect(groupAlive(zombie)).toBe(true); // what signal 0 says
    expect(await groupGone(zombie, 0)).toBe(true); // at the first look, not after the bound
  });

  it('a running group is not gone', async () => {
    const { pid } = await perl('print "up\\n"; sleep 30');
    expect(await groupGone(pid, 100)).toBe(false);
    process.kill(-pid, 'SIGKILL');
    expect(await groupGone(pid, 30_000)).toBe(true);
  });
});
