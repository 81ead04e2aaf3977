import { execa } from 'execa';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startHttpServe, tempHome } from '../helpers.js';

const redisBin = '/usr/bin/redis-server';

/** A private, throw-away redis-server (never the shared one on 6379): it may be killed and started again. */
async function startRedis(port: number) {
  const child = execa(redisBin, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { reject: false });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (/Ready to accept connections/.test(out)) resolve();
    });
    setTimeout(() => reject(new Error(`redis-server did not start: ${out}`)), 20_000);
  });
  // Wrapped: an async function returning the (thenable) process would wait for it to exit.
  return { child };
}

describe('twl serve --http when its Redis is killed and restarted', () => {
  let home: string;
  let cleanup: () => void;
  let redisPort: number;
  let redis: Awaited<ReturnType<typeof startRedis>>['child'] | undefined;
  let server: Awaited<ReturnType<typeof startHttpServe>>;

  beforeAll(async () => {
    ({ home, cleanup } = tempHome('twl-redis-restart-'));
    writeFileSync(path.join(home, '.twlrc.json'), JSON.stringify({ http: { auth: 'none' } }));
    redisPort = await freePort();
    ({ child: redis } = await startRedis(redisPort));
    server = await startHttpServe(home, [], { TWL_REDIS_URL: `redis://127.0.0.1:${redisPort}`, TWL_REDIS_PREFIX: 'twl-restart:' });
  });
  afterAll(async () => {
    server?.child.kill('SIGTERM');
    await server?.child;
    redis?.kill('SIGKILL');
    cleanup?.();
  });

  const set = (value: string) => fetch(`${server.url}/api/tools/cache_cache_set`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ key: 'k', value }) });
  const health = async () => ((await (await fetch(`${server.url}/health`)).json()) as { status: string; dependencies: Array<{ name: string; status: string }> });

  it('reports the cache down while Redis is gone, and reconnects by itself once it is back', async () => {
    expect((await set('before')).status).toBe(200);
    expect((await health()).status).toBe('ok');
    redis!.kill('SIGKILL');
    await redis;
    const during = await set('during');
    expect(during.status).toBe(503);
    expect(await during.json()).toMatchObject({ error: { code: 'TWL_CACHE_UNAVAILABLE' } });
    expect((await health()).dependencies).toContainEqual(expect.objectContaining({ name: 'twl-cache', status: 'down' }));
    ({ child: redis } = await startRedis(redisPort));
    await expect.poll(async () => (await set('after')).status, { timeout: 30_000, interval: 500 }).toBe(200);
    await expect.poll(async () => (await health()).status, { timeout: 30_000, interval: 500 }).toBe('ok');
    const got = await fetch(`${server.url}/api/tools/cache_cache_get`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ key: 'k' }) });
    expect(await got.json()).toMatchObject({ result: { value: 'after' } });
  });
});
