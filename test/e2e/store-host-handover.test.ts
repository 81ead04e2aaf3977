import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { embeddedPaths } from '../../src/store/embedded.js';
import { envelope, stdioSession, tempHome, twl } from '../helpers.js';

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

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
      expect(alive(owner.pid)).toBe(false);

      // The sleep is gone with the old engine: the store answers at once, not in ten minutes.
      const next = await twl(['db', 'query', 'select 1 as one', '--json'], { home });
      expect(next.exitCode, next.stderr).toBe(0);
      expect(envelope(next.stdout).result).toMatchObject({ rows: [{ one: 1 }] });
    } finally {
      cleanup();
    }
  });
});
