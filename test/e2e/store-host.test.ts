import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { embeddedPaths } from '../../src/store/embedded.js';
import { envelope, tempHome, twl } from '../helpers.js';

describe('the background store host', () => {
  it('is started by the first command and shared by the next ones', async () => {
    const { home, cleanup } = tempHome('twl-host-');
    try {
      expect((await twl(['cache', 'set', 'k', 'v'], { home })).exitCode).toBe(0);
      expect(existsSync(embeddedPaths(home).socketPath)).toBe(true);
      const health = envelope((await twl(['db', 'health', '--json'], { home })).stdout);
      expect(health.result).toMatchObject({ reachable: true, backend: 'embedded-host' });
      const parallel = await Promise.all(Array.from({ length: 4 }, (_, i) => twl(['cache', 'set', `p${i}`, String(i)], { home })));
      expect(parallel.map((r) => r.exitCode)).toEqual([0, 0, 0, 0]);
      expect(envelope((await twl(['cache', 'keys', 'p*', '--json'], { home })).stdout).result).toMatchObject({ keys: ['p0', 'p1', 'p2', 'p3'] });
    } finally {
      cleanup(); // the host notices its data directory is gone and exits
    }
  });

  it('is waited for by the command that started it, however long it takes to come up (a new store on a loaded machine)', async () => {
    const { home, cleanup } = tempHome('twl-slowhost-');
    try {
      // The background host (and only it) starts 20 s late: longer than the command used to wait
      // for it (15 s), and far longer than store.lockTimeout here.
      const hook = path.join(home, 'slow-host.mjs');
      writeFileSync(hook, "import { setTimeout } from 'node:timers/promises';\nif (process.argv.includes('host') && process.argv.includes('--background')) await setTimeout(20_000);\n");
      const env = { NODE_OPTIONS: `--import ${pathToFileURL(hook).href}`, TWL_STORE_LOCK_TIMEOUT: '1s' };
      const health = await twl(['db', 'health', '--json'], { home, env, timeout: 150_000 });
      expect(health.exitCode, health.stderr).toBe(0);
      // Served by the host it started, not by opening the store itself after giving up on it.
      expect(envelope(health.stdout).result).toMatchObject({ reachable: true, backend: 'embedded-host' });
    } finally {
      cleanup();
    }
  });

  it('is not started when store.autoHost is off', async () => {
    const { home, cleanup } = tempHome('twl-nohost-');
    try {
      const env = { TWL_STORE_AUTO_HOST: 'off' };
      const health = envelope((await twl(['db', 'health', '--json'], { home, env })).stdout);
      expect(health.result).toMatchObject({ reachable: true, backend: 'embedded' });
      expect(existsSync(embeddedPaths(home).socketPath)).toBe(false);
    } finally {
      cleanup();
    }
  });

  it('exits by itself when idle, and the next command opens the store directly or hosts anew', async () => {
    const { home, cleanup } = tempHome('twl-idle-');
    try {
      // No clock here: a host that never idles out is killed by the timeout (a failure), and one on a
      // loaded machine may take tens of seconds to create a new store before its idle second starts.
      const r = await twl(['db', 'host', '--idle', '1s', '--json'], { home, timeout: 150_000 });
      expect(r.exitCode, r.stderr).toBe(0);
      expect(envelope(r.stdout).result).toMatchObject({ reason: 'idle for 1000 ms' });
      expect(existsSync(embeddedPaths(home).socketPath)).toBe(false);
      const get = await twl(['cache', 'get', 'nothing', '--json'], { home, env: { TWL_STORE_AUTO_HOST: 'off' } });
      expect(envelope(get.stdout).result).toMatchObject({ found: false });
    } finally {
      cleanup();
    }
  });
});
