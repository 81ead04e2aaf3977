// Issue #11.10: no secret in anything twl prints, whatever shape the URL or value has.
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { envelope, tempHome, twl } from '../helpers.js';

const SECRET = 'S3cretPW';
const env = { TWL_STORE_AUTO_HOST: 'off' };

let home: string;
let cleanup: () => void;
let closed: number;
beforeAll(async () => {
  ({ home, cleanup } = tempHome('twl-redact-'));
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  closed = (server.address() as net.AddressInfo).port;
  await new Promise((r) => server.close(r));
});
afterAll(() => cleanup());

const config = () => ({
  redis: { url: `redis://:${SECRET}@127.0.0.1:${closed}` },
  database: { targets: { billing: { url: `postgres://ops@127.0.0.1:${closed}/billing?password=${SECRET}` }, replica: { url: `postgres://ops@127.0.0.1:${closed}/r?sslmode=disable&sslpassword=${SECRET}` } } },
  llm: { host: `http://ollama:${SECRET}@127.0.0.1:${closed}` },
  services: [
    { name: 'orders-db', kind: 'postgres', target: `postgres://ops:${SECRET}@127.0.0.1:${closed}/orders`, timeout: '2s' },
    { name: 'sessions', kind: 'redis', target: `redis://default:${SECRET}@127.0.0.1:${closed}`, timeout: '2s' },
    { name: 'api', kind: 'http', target: `http://127.0.0.1:${closed}/health?access_token=${SECRET}`, timeout: '2s' },
  ],
});

describe('secrets stay hidden', () => {
  it('in config show, for people and under --json', async () => {
    writeFileSync(path.join(home, '.twlrc.json'), JSON.stringify(config()));
    const human = await twl(['config', 'show'], { home, env });
    expect(human.exitCode, human.stderr).toBe(0);
    expect(human.stdout).toContain('redis://:***@127.0.0.1');
    expect(human.stdout).toContain('password=***');
    expect(human.stdout + human.stderr).not.toContain(SECRET);
    const json = await twl(['config', 'show', '--json'], { home, env });
    expect(json.stdout).not.toContain(SECRET);
    expect(envelope(json.stdout).result).toMatchObject({ config: { redis: { url: `redis://:***@127.0.0.1:${closed}` } } });
  });

  it('in health output, errors and debug logs', async () => {
    writeFileSync(path.join(home, '.twlrc.json'), JSON.stringify(config()));
    const health = await twl(['monitoring', 'health', '--json', '--verbose'], { home, env });
    expect(envelope(health.stdout).result).toMatchObject({ status: 'down' });
    expect(health.stdout + health.stderr).not.toContain(SECRET);
    const human = await twl(['monitoring', 'health', '--verbose'], { home, env });
    expect(human.stdout).toMatch(/orders-db .* down/);
    expect(human.stdout + human.stderr).not.toContain(SECRET);
    // A command whose backend is down fails with the URL in its message, and logs at debug.
    const cache = await twl(['cache', 'stats', '--verbose'], { home, env });
    expect(cache.exitCode).not.toBe(0);
    expect(cache.stderr).toMatch(/redis:\/\/:\*\*\*@127\.0\.0\.1/);
    expect(cache.stdout + cache.stderr).not.toContain(SECRET);
    const db = await twl(['db', 'health', '--target', 'billing', '--json', '--verbose'], { home, env });
    expect(db.stdout + db.stderr).not.toContain(SECRET);
    const llm = await twl(['llm', 'status', '--json', '--verbose'], { home, env });
    expect(envelope(llm.stdout).result).toMatchObject({ configured: true, reachable: false, host: expect.stringContaining('ollama:***@') });
    expect(llm.stdout + llm.stderr).not.toContain(SECRET);
  });

  it('in configuration errors', async () => {
    writeFileSync(path.join(home, '.twlrc.json'), JSON.stringify({ services: [{ name: 'x', kind: 'http', target: `redis://:${SECRET}@cache:6379` }] }));
    const r = await twl(['config', 'validate', '--json'], { home, env });
    expect(r.exitCode).toBe(3);
    expect(r.stdout).toMatch(/services\.0\.target: expected an http/);
    expect(r.stdout + r.stderr).not.toContain(SECRET);
  });
});
