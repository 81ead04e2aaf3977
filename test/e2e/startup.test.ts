// What a CLI call loads. Start-up time is measured in `npm run bench -- startup`; these tests
// hold the causes: modules a command must not load (and the bundles it loads instead).
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REDIS_URL, hasRedis, tempHome, twl } from '../helpers.js';

let home: string;
let cleanup: () => void;
beforeAll(() => ({ home, cleanup } = tempHome('twl-startup-')));
afterAll(() => cleanup());

/** Runs twl with a module hook that lists every module it loads (ESM and CommonJS). */
async function loadedBy(args: string[], env: Record<string, string> = {}, exitCode = 0) {
  const list = path.join(home, `loaded-${Date.now()}.json`);
  const hook = path.join(home, 'list-modules.mjs');
  writeFileSync(
    hook,
    `import module from 'node:module';
import { writeFileSync } from 'node:fs';
import { isMainThread } from 'node:worker_threads';
const urls = [];
module.registerHooks({ load(url, context, next) { urls.push(url); return next(url, context); } });
// The first process to exit is the command (a store host it starts inherits the hook, and outlives it).
// Only a main thread writes: the store engine's worker thread runs the hook too, and the command's
// exit could kill it between creating the file and writing it (an empty list).
if (isMainThread) process.on('exit', () => { try { writeFileSync(${JSON.stringify(list)}, JSON.stringify(urls), { flag: 'wx' }); } catch {} });
`,
  );
  const r = await twl(args, { home, env: { NODE_OPTIONS: `--import ${pathToFileURL(hook).href}`, ...env } });
  expect(r.exitCode, r.stderr).toBe(exitCode);
  return { stdout: r.stdout, urls: JSON.parse(readFileSync(list, 'utf8')) as string[] };
}

const from = (urls: string[], pkg: string) => urls.filter((u) => u.includes(`/node_modules/${pkg}/`));

describe('what twl cache get loads', () => {
  it.runIf(hasRedis)('on Redis: the client as one bundled file, not the ~1,700 modules of @redis/client; no prom-client', async () => {
    const env = { TWL_REDIS_URL: REDIS_URL, TWL_REDIS_PREFIX: `twl-startup-${process.pid}:` };
    expect((await twl(['cache', 'set', 'x', 'hello'], { home, env })).exitCode).toBe(0);
    const { stdout, urls } = await loadedBy(['cache', 'get', 'x'], env);
    expect(stdout.trim()).toBe('hello');
    expect(from(urls, '@redis/client')).toEqual([]);
    expect(urls.some((u) => u.endsWith('/dist/src/vendor/redis.js'))).toBe(true);
    expect(from(urls, 'prom-client')).toEqual([]);
    expect(urls.some((u) => u.includes('/vendor/prom-client'))).toBe(false);
    await twl(['cache', 'delete', 'x'], { home, env });
  });

  it('on the embedded store: no prom-client (a CLI call exposes no metrics)', async () => {
    // The command opens the store itself (no background host): what is asserted is what it loads.
    const { urls } = await loadedBy(['cache', 'get', 'absent'], { TWL_STORE_AUTO_HOST: 'off' }, 7); // 7: not found
    expect(from(urls, 'prom-client')).toEqual([]);
    expect(urls.some((u) => u.includes('/vendor/prom-client'))).toBe(false);
  });
});
