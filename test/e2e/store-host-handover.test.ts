import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { embeddedPaths } from '../../src/store/embedded.js';
import { bin, envelope, exitsWithin, inheritedEnv, stdioSession, tempHome, twl } from '../helpers.js';

describe('the background store host, a statement past its timeout, and a long-running process', () => {
  it('stops a statement past its timeout for real, and hands the store over to twl serve', async () => {
    const { home, cleanup } = tempHome('twl-handover-');
    try {
      expect((await twl(['cache', 'set', 'k', 'v'], { home })).exitCode).toBe(0);
      const owner = JSON.parse(readFileSync(embeddedPaths(home).ownerFile, 'utf8')) as { pid: number; role: string };

      const slow = await twl(['db', 'query', 'select pg_sleep(600)', '--timeout', '1s', '--json'], { home });
      expect(slow.exitCode, slow.stderr).toBe(5);
      expect(envelope(slow.stdout).error).toMatchObject({ code: 'TWL_TIMEOUT' });

      // A long-running process started now takes the store over from the background host
      // (which was stuck in the 10-minute sleep before: serve failed with TWL_STORE_BUSY).
      const served = await stdioSession(home, [{ name: 'cache_cache_get', arguments: { key: 'k' } }]);
      expect(served.exitCode, served.stderr).toBe(0);
      expect(served.byId.get(2)?.result?.structuredContent, served.stdout).toMatchObject({ found: true, value: 'v' });
      expect(owner.role).toMatch(/twl db host, in the background/);
      // A bound for a host that never exits (it released the store already: it only has to end).
      expect(await exitsWithin(owner.pid, 60_000)).toBe(true);

      // The sleep is gone with the old engine: the store answers at once, not in ten minutes.
      const next = await twl(['db', 'query', 'select 1 as one', '--json'], { home });
      expect(next.exitCode, next.stderr).toBe(0);
      expect(envelope(next.stdout).result).toMatchObject({ rows: [{ one: 1 }] });
    } finally {
      cleanup();
    }
  });

  it('hands the store over to a twl worker started while the background host runs, which then runs tasks for the CLI', async () => {
    const { home, cleanup } = tempHome('twl-handover-worker-');
    let worker: ReturnType<typeof execa> | undefined;
    try {
      expect((await twl(['cache', 'set', 'k', 'v'], { home })).exitCode).toBe(0);
      const owner = JSON.parse(readFileSync(embeddedPaths(home).ownerFile, 'utf8')) as { pid: number; role: string };
      expect(owner.role).toMatch(/twl db host, in the background/);
      worker = execa(process.execPath, [bin, 'worker', '--name', 'w1', '--concurrency', '1'], { cwd: home, env: { ...inheritedEnv(), TWL_HOME: home, HOME: home, NO_COLOR: '1' }, extendEnv: false, reject: false });
      // Ready once it says so on stderr (it failed with TWL_STORE_BUSY before).
      let err = '';
      await new Promise<void>((resolve, reject) => {
        worker!.stderr!.on('data', (d: Buffer) => ((err += d.toString()), err.includes('takes runs from') && resolve()));
        void worker!.then((r) => reject(new Error(`twl worker exited (${r.exitCode}): ${err}`)));
      });
      expect(await exitsWithin(owner.pid, 60_000)).toBe(true);
      const created = await twl(['task', 'create', '--tool', 'cache_cache_get', '--input', '{"key":"k"}', '--now', '--json'], { home });
      expect(created.exitCode, created.stderr).toBe(0);
      const id = (envelope(created.stdout).result as { task: { id: number } }).task.id;
      let shown: { task: { status: string }; executions: Array<{ status: string; worker: string }> } | undefined;
      for (const end = Date.now() + 60_000; Date.now() < end; await sleep(300)) {
        shown = envelope((await twl(['task', 'show', String(id), '--json'], { home })).stdout).result as typeof shown;
        if (shown!.task.status === 'completed') break;
      }
      expect(shown).toMatchObject({ task: { status: 'completed' }, executions: [{ status: 'completed', worker: 'w1' }] });
      worker.kill('SIGTERM');
      expect((await worker).exitCode).toBe(0);
    } finally {
      worker?.kill('SIGKILL');
      await worker;
      cleanup();
    }
  });
});
