import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browse } from '../../../../src/agents/browser/browse.js';
import { validateConfig, type Config } from '../../../../src/runtime/config.js';

const policyOf = (browser: Record<string, unknown> = {}): Config['browser'] => validateConfig({ browser }, undefined, {}).config.browser;

describe('browse never connects to the denied networks (SSRF toward metadata services)', () => {
  let server: http.Server;
  let port: number;
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      if (req.url === '/to-metadata') return res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' }).end();
      if (req.url === '/to-mapped') return res.writeHead(302, { location: 'http://[::ffff:a9fe:a9fe]/' }).end();
      res.writeHead(200, { 'content-type': 'text/html' }).end('<html><head><title>ok</title></head><body><h1>Status</h1><p>fine</p></body></html>');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  // Every spelling of a link-local, unspecified or multicast address that a URL parser accepts.
  const hostile = [
    'http://169.254.169.254/latest/meta-data/',
    'http://169.254.169.254:80/computeMetadata/v1/',
    'http://2852039166/',
    'http://0xa9fea9fe/',
    'http://0xa9.0xfe.0xa9.0xfe/',
    'http://0251.0376.0251.0376/',
    'http://169.254.43518/',
    'http://[::ffff:169.254.169.254]/',
    'http://[::ffff:a9fe:a9fe]/',
    'http://[0:0:0:0:0:ffff:169.254.169.254]/',
    'http://[fe80::1]/',
    'http://[FE80::a9fe:a9fe]/',
    'http://[fd00:ec2::254]/latest/meta-data/',
    'http://100.100.100.200/latest/meta-data/',
    'http://0.0.0.0:22/',
    'http://0/',
    'http://[::]/',
    'http://224.0.0.1/',
    'http://255.255.255.255/',
    'https://169.254.169.254/',
  ];
  it.each(hostile)('refuses %s before connecting', async (url) => {
    await expect(browse(policyOf(), url, AbortSignal.timeout(10_000), false)).rejects.toMatchObject({ code: 'TWL_BROWSE_REFUSED', message: expect.stringMatching(/denyNetworks/) });
  });

  it('still browses an ordinary loopback service (the default denies only link-local, unspecified and multicast)', async () => {
    const r = await browse(policyOf(), `http://127.0.0.1:${port}/`, AbortSignal.timeout(10_000));
    expect(r.status).toBe(200);
  });

  it('refuses a redirect into a denied network, in every spelling', async () => {
    for (const path of ['/to-metadata', '/to-mapped'])
      await expect(browse(policyOf(), `http://127.0.0.1:${port}${path}`, AbortSignal.timeout(10_000), false)).rejects.toMatchObject({ code: 'TWL_BROWSE_REFUSED' });
  });

  it('checks what a name resolves to, not only the name', async () => {
    // localhost is a name: only the resolved address can match the denied range.
    const policy = policyOf({ denyNetworks: ['127.0.0.0/8', '::1/128'] });
    await expect(browse(policy, `http://localhost:${port}/`, AbortSignal.timeout(10_000), false)).rejects.toMatchObject({ code: 'TWL_BROWSE_REFUSED', message: expect.stringMatching(/127\.0\.0\.1|::1/) });
    await expect(browse(policy, `http://127.0.0.1:${port}/`, AbortSignal.timeout(10_000), false)).rejects.toMatchObject({ code: 'TWL_BROWSE_REFUSED' });
  });

  it('rejects a range that is not CIDR in the configuration', () => {
    expect(() => policyOf({ denyNetworks: ['169.254.169.254'] })).toThrow(/CIDR/);
  });
});
