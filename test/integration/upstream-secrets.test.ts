import path from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { SecretBox, openUpstreams, upstreamConfigSchema, type UpstreamConfigInput, type UpstreamSet } from '../../src/upstream/index.js';
import { root, tempHome } from '../helpers.js';

/**
 * A recognisable secret, given to an upstream through `${env:…}` and through an encrypted
 * envelope, reaches the child that needs it and nothing else: not status(), not errors, not
 * logs (even at debug level, even when the server prints it to stderr), not other children.
 */
const server = path.join(root, 'test', 'fixtures', 'upstream-server.ts');
const SECRET = 'tok-RECOGNISABLE-5ecr3t-9f2c';
const SECRET2 = 'enc-RECOGNISABLE-5ecr3t-77aa';
const { home, cleanup } = tempHome();
const opened: UpstreamSet[] = [];
afterAll(async () => {
  await Promise.all(opened.map((s) => s.close()));
  cleanup();
});

function capture() {
  const lines: string[] = [];
  const logger = pino({ level: 'trace' }, new Writable({ write: (chunk, _enc, done) => (lines.push(String(chunk)), done()) }));
  return { logger, text: () => lines.join('') };
}

const textOf = (r: { content: unknown[] }) => JSON.parse((r.content[0] as { text: string }).text) as Record<string, unknown>;

describe('upstream secrets never leak', () => {
  const secrets = new SecretBox({ home, env: {} });
  const env = { PATH: process.env.PATH, HOME: process.env.HOME, UPSTREAM_TOKEN: SECRET, TWL_SECRET_KEY: 'x'.repeat(44), DATABASE_PASSWORD: 'other-secret-of-twl' };

  it('stdio: the child gets its configured secrets only; status, errors and logs never show them', async () => {
    const log = capture();
    const entry: UpstreamConfigInput = {
      name: 'fx',
      transport: 'stdio',
      command: process.execPath,
      args: [server],
      env: { FIXTURE_SECRET: '${env:UPSTREAM_TOKEN}', API_KEY: secrets.encrypt(SECRET2), FIXTURE_MODE: 'exit-if-file', EXIT_FILE: path.join(home, 'exit') },
      restart: { maxRestarts: 0, backoff: '10ms' },
      retries: 0,
    };
    const set = openUpstreams([upstreamConfigSchema.parse(entry)], { logger: log.logger, secrets, env });
    opened.push(set);
    const fx = set.get('fx')!;

    // The child has what it was configured with...
    expect(textOf(await fx.callTool('env', { name: 'FIXTURE_SECRET' }))).toEqual({ value: SECRET });
    expect(textOf(await fx.callTool('env', { name: 'API_KEY' }))).toEqual({ value: SECRET2 });
    // ...and none of twl's own environment beyond the basics.
    for (const name of ['TWL_SECRET_KEY', 'DATABASE_PASSWORD', 'UPSTREAM_TOKEN']) expect(textOf(await fx.callTool('env', { name }))).toEqual({ value: null });

    // A crash (with the exit file the restart fails too: crash-loop with a reason).
    const errors: string[] = [];
    const { writeFileSync } = await import('node:fs');
    writeFileSync(path.join(home, 'exit'), '');
    await fx.callTool('crash', { code: 9 }).catch((e: Error) => errors.push(JSON.stringify({ message: e.message, ...(e as { toJSON?: () => object }).toJSON?.() })));
    await new Promise((r) => setTimeout(r, 300));
    await fx.callTool('env', { name: 'FIXTURE_SECRET' }).catch((e: Error) => errors.push(JSON.stringify({ message: e.message, ...(e as { toJSON?: () => object }).toJSON?.() })));
    expect(errors).toHaveLength(2);
    expect(errors.join('\n')).toMatch(/upstream fx/);
    const status = JSON.stringify(fx.status());
    expect(status).toMatch(/crash-loop/);

    const logs = log.text();
    expect(logs).toMatch(/upstream stderr/); // the server's stderr was logged…
    expect(logs).toContain('starting with token ***'); // …with the secret masked
    for (const text of [...errors, status, logs]) {
      expect(text).not.toContain(SECRET);
      expect(text).not.toContain(SECRET2);
    }
  });

  it('http: a secret header reaches no status, error or log when the server is down', async () => {
    const log = capture();
    const entry: UpstreamConfigInput = { name: 'web', transport: 'http', url: 'http://127.0.0.1:9/mcp', headers: { Authorization: 'Bearer ${env:UPSTREAM_TOKEN}', 'X-Api-Key': secrets.encrypt(SECRET2) }, retries: 0, startTimeout: '2s' };
    const set = openUpstreams([upstreamConfigSchema.parse(entry)], { logger: log.logger, secrets, env });
    opened.push(set);
    const web = set.get('web')!;
    const err = (await web.listTools().catch((e: unknown) => e)) as Error & { code: string };
    expect(err.code).toBe('TWL_UPSTREAM_UNAVAILABLE');
    expect(err.message).toMatch(/^upstream web failed to start/);
    for (const text of [err.message, JSON.stringify(err), JSON.stringify(web.status()), log.text()]) {
      expect(text).not.toContain(SECRET);
      expect(text).not.toContain(SECRET2);
    }
  });
});
