import { spawn, type ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { groupAlive, groupGone } from '../../src/upstream/reaper.js';

/**
 * groupGone, on real process groups: a stop of an upstream child returns only once its whole group
 * is gone. A SIGKILL is delivered, not awaited, and a group's leader being reaped says nothing of
 * the others (a CI run once saw a grandchild still running right after a stop returned).
 */
const started: ChildProcess[] = [];
afterEach(() => {
  for (const p of started.splice(0)) if (p.pid) try { process.kill(-p.pid, 'SIGKILL'); } catch { /* gone */ }
});

/** Starts perl in a new process group; resolves with the first line it prints. */
function perl(script: string): Promise<{ pid: number; line: string }> {
  const p = spawn('perl', ['-e', `$| = 1; ${script}`], { detached: true, stdio: ['ignore', 'pipe', 'ignore'] });
  started.push(p);
  return new Promise((resolve) => p.stdout!.once('data', (d: Buffer) => resolve({ pid: p.pid!, line: String(d).trim() })));
}

describe('groupGone (real process groups)', () => {
  it('waits for a member that outlives the leader, and says false when the bound passes first', async () => {
    // The leader prints and exits; its child stays in the group for 600 ms.
    const { pid } = await perl('if (fork) { print "up\\n"; exit 0 } select(undef, undef, undef, 0.6); exit 0');
    expect(await groupGone(pid, 50)).toBe(false);
    const started = Date.now();
    expect(await groupGone(pid, 5000)).toBe(true);
    expect(Date.now() - started).toBeGreaterThan(200);
  });

  it('a group left with only a zombie is gone (signal 0 still reaches it; a container\'s pid 1 may never reap it)', async () => {
    // The child makes a group of its own and exits; its parent (in another group) never reaps it.
    const { line } = await perl('my $c = fork; if (!$c) { setpgrp(0, 0); exit 0 } print "$c\\n"; sleep 30');
    const zombie = Number(line);
    await new Promise((r) => setTimeout(r, 200));
    expect(groupAlive(zombie)).toBe(true); // what signal 0 says
    const started = Date.now();
    expect(await groupGone(zombie, 3000)).toBe(true);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('a running group is not gone', async () => {
    const { pid } = await perl('print "up\\n"; sleep 30');
    expect(await groupGone(pid, 100)).toBe(false);
    process.kill(-pid, 'SIGKILL');
    expect(await groupGone(pid, 5000)).toBe(true);
  });
});
