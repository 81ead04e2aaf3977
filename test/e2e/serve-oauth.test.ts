import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { ClientCredentialsProvider } from '@modelcontextprotocol/sdk/client/auth-extensions.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { envelope, startHttpServe, tempHome, twl } from '../helpers.js';

// twl serve --http with http.oauth: bearer JWTs from a real (local) issuer's JWKS work beside
// API keys, the token's role decides the tools, and a token for another audience is refused.
describe('twl serve --http with OAuth access tokens', () => {
  const audience = 'https://twl.test';
  let home: string;
  let cleanup: () => void;
  let idp: http.Server;
  let issuer: string;
  let sign: (claims: Record<string, unknown>, aud?: string) => Promise<string>;
  let server: Awaited<ReturnType<typeof startHttpServe>>;
  const tokenRequests: Array<Record<string, string>> = [];

  beforeAll(async () => {
    const { privateKey, publicKey } = await generateKeyPair('RS256');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
    idp = http.createServer((req, res) => {
      const base = `http://127.0.0.1:${(idp.address() as AddressInfo).port}`;
      if (req.url === '/.well-known/openid-configuration') return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ issuer: base, jwks_uri: `${base}/jwks` }));
      if (req.url === '/jwks') return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }));
      // RFC 8414 metadata and a client_credentials token endpoint, for clients that discover all this from twl's 401.
      if (req.url === '/.well-known/oauth-authorization-server') {
        const metadata = { issuer: base, authorization_endpoint: `${base}/authorize`, token_endpoint: `${base}/token`, response_types_supported: ['code'], grant_types_supported: ['client_credentials'], token_endpoint_auth_methods_supported: ['client_secret_basic'] };
        return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(metadata));
      }
      if (req.url === '/token' && req.method === 'POST') {
        let form = '';
        req.on('data', (d: Buffer) => (form += d.toString()));
        req.on('end', () => {
          const basic = Buffer.from(String(req.headers.authorization ?? '').replace(/^Basic /, ''), 'base64').toString();
          tokenRequests.push(Object.fromEntries(new URLSearchParams(form)));
          if (basic !== 'robot:s3cret' || new URLSearchParams(form).get('grant_type') !== 'client_credentials') return void res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'invalid_client' }));
          void sign({ twl_role: 'viewer' }).then((token) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ access_token: token, token_type: 'Bearer', expires_in: 300 })));
        });
        return;
      }
      res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => idp.listen(0, '127.0.0.1', resolve));
    issuer = `http://127.0.0.1:${(idp.address() as AddressInfo).port}`;
    sign = (claims, aud = audience) => new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).setIssuer(issuer).setAudience(aud).setSubject('alice').setIssuedAt().setExpirationTime(typeof claims.exp === 'number' ? claims.exp : '5m').sign(privateKey);

    ({ home, cleanup } = tempHome('twl-oauth-'));
    writeFileSync(path.join(home, '.twlrc.json'), JSON.stringify({ http: { oauth: { issuer, audience } } }));
    server = await startHttpServe(home);
  });
  afterAll(async () => {
    server?.child.kill('SIGTERM');
    await server?.child;
    idp?.close();
    cleanup?.();
  });

  const rpc = (token: string, body: unknown) =>
    fetch(`${server.url}/mcp`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify(body),
    });

  /** A JSON-RPC answer, sent as JSON or as one SSE message. */
  const answer = async (res: Response) => {
    const raw = await res.text();
    const data = raw.startsWith('{') ? raw : (/^data: (.*)$/m.exec(raw)?.[1] ?? raw);
    return JSON.parse(data) as { result: { tools: Array<{ name: string }> } };
  };

  it('lets a viewer token list only the viewer tools, and refuses the commander with 403', async () => {
    const token = await sign({ twl_role: 'viewer' });
    const list = await rpc(token, { jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} });
    expect(list.status).toBe(200);
    const names = (await answer(list)).result.tools.map((t) => t.name);
    expect(names).toContain('sentiment-analyzer_analyze_sentiment');
    expect(names).not.toContain('real-desktop-commander_execute_command');
    const call = await rpc(token, { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'real-desktop-commander_execute_command', arguments: { command: 'ls' } } });
    expect(call.status).toBe(403);
  });

  it('gives an admin token every tool, and keeps API keys working beside tokens', async () => {
    const list = await rpc(await sign({ twl_role: 'admin' }), { jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} });
    expect((await answer(list)).result.tools.map((t) => t.name)).toContain('real-desktop-commander_execute_command');
    const key = String((envelope((await twl(['keys', 'create', '--role', 'viewer', '--json'], { home })).stdout).result as { key: string }).key);
    const res = await fetch(`${server.url}/api/tools`, { headers: { authorization: `Bearer ${key}` } });
    expect(res.status).toBe(200);
  });

  it('refuses a token for another audience and one with an unknown role with 401', async () => {
    for (const token of [await sign({ twl_role: 'admin' }, 'https://other.example'), await sign({ twl_role: 'root' })]) {
      const res = await fetch(`${server.url}/api/tools`, { headers: { authorization: `Bearer ${token}` } });
      expect(res.status).toBe(401);
      const body = (await res.json()) as { error: { message: string } };
      expect(body.error.message).toMatch(/OAuth access token/);
      expect(JSON.stringify(body)).not.toContain(token);
    }
  });

  it('points every 401 to its protected-resource metadata (RFC 9728), which names the issuer', async () => {
    for (const path of ['/mcp', '/api/tools', '/health']) {
      const res = await fetch(`${server.url}${path}`);
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe(`Bearer realm="twl", resource_metadata="${server.url}/.well-known/oauth-protected-resource/mcp"`);
    }
    for (const path of ['/.well-known/oauth-protected-resource/mcp', '/.well-known/oauth-protected-resource']) {
      const res = await fetch(`${server.url}${path}`);
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ resource: `${server.url}/mcp`, authorization_servers: [issuer], bearer_methods_supported: ['header'] });
    }
  });

  it('records on a task a token creates, over REST and MCP, when the token expires: its runs stop then', async () => {
    const exp = Math.floor(Date.now() / 1000) + 600;
    const token = await sign({ twl_role: 'manager', preferred_username: 'alice@example.test', exp });
    const create = { tool: 'sentiment-analyzer_analyze_sentiment', input: { text: 'fine' }, now: true, draft: true };
    const res = await fetch(`${server.url}/api/tools/task_create`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(create) });
    expect(res.status).toBe(200);
    const rest = ((await res.json()) as { result: { task: Record<string, unknown> } }).result.task;
    expect(rest).toMatchObject({ createdBy: 'rest:jwt:alice (alice@example.test)', createdByKey: null, grantExpiresAt: new Date(exp * 1000).toISOString() });
    const call = await rpc(token, { jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'task_create', arguments: create } });
    expect(call.status).toBe(200);
    const mcp = ((await answer(call)) as unknown as { result: { structuredContent: { task: Record<string, unknown> } } }).result.structuredContent.task;
    expect(mcp).toMatchObject({ createdBy: 'mcp:jwt:alice', createdByKey: null, grantExpiresAt: new Date(exp * 1000).toISOString() });
    // A task that would first run after the token expires is refused at once.
    const late = await fetch(`${server.url}/api/tools/task_create`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ ...create, now: undefined, at: new Date((exp + 60) * 1000).toISOString() }) });
    expect(late.status).toBe(403);
    expect(((await late.json()) as { error: { code: string } }).error.code).toBe('TWL_GRANT_EXPIRED');
  });

  it("lets the official client find the issuer from the 401, get a token and call tools", async () => {
    const authProvider = new ClientCredentialsProvider({ clientId: 'robot', clientSecret: 's3cret', expectedIssuer: issuer });
    const client = new Client({ name: 'oauth-discovery', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`), { authProvider }));
    const names = (await client.listTools()).tools.map((t) => t.name);
    expect(names).toContain('sentiment-analyzer_analyze_sentiment');
    expect(names).not.toContain('real-desktop-commander_execute_command');
    const result = await client.callTool({ name: 'sentiment-analyzer_analyze_sentiment', arguments: { text: 'This is great!' } });
    expect(result.structuredContent).toMatchObject({ sentiment: 'positive' });
    await client.close();
    // The token was asked for this server's /mcp (RFC 8707 resource indicator from the metadata).
    expect(tokenRequests.at(-1)).toMatchObject({ grant_type: 'client_credentials', resource: `${server.url}/mcp` });
  });
});
