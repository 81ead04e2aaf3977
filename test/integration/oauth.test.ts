import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { SignJWT, exportJWK, exportSPKI, generateKeyPair, type CryptoKey, type JWTPayload } from 'jose';
import pino from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createJwtVerifier, looksLikeJwt, type OAuthConfig } from '../../src/http/oauth.js';

/** A local authorization server: an OpenID discovery document and a JWKS, every request counted. */
interface Idp {
  base: string;
  requests: string[];
  close(): Promise<void>;
}

const audience = 'https://twl.example.test';

let idp: Idp;
let rsa: { privateKey: CryptoKey; publicKey: CryptoKey };
let ec: { privateKey: CryptoKey; publicKey: CryptoKey };
let stranger: { privateKey: CryptoKey; publicKey: CryptoKey };

/** Every log line any verifier wrote, to check that no token ever appears in them. */
const logLines: string[] = [];
const logger = pino(
  { level: 'debug' },
  new Writable({
    write(chunk, _encoding, done) {
      logLines.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  }),
);
const logsSince = (mark: number) => logLines.slice(mark).map((line) => JSON.parse(line) as { level: number; msg: string; reason?: string; claim?: string });
const signed: string[] = [];

async function startIdp(jwks: unknown): Promise<Idp> {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    const path = req.url ?? '/';
    requests.push(path);
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const send = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    switch (path) {
      // The main issuer: discovery names a JWKS at a path of its own.
      case '/.well-known/openid-configuration':
        return send(200, { issuer: base, jwks_uri: `${base}/keys`, token_endpoint: `${base}/token` });
      case '/keys':
        return send(200, jwks);
      // An issuer without discovery: its jwks.json is the fallback.
      case '/plain/.well-known/jwks.json':
        return send(200, jwks);
      // An issuer whose discovery fails, and one whose document names another issuer.
      case '/down/.well-known/openid-configuration':
        return send(503, { error: 'unavailable' });
      case '/liar/.well-known/openid-configuration':
        return send(200, { issuer: 'https://evil.example', jwks_uri: `${base}/keys` });
      default:
        return send(404, { error: 'not found' });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { base, requests, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

const config = (overrides: Partial<OAuthConfig> = {}): OAuthConfig => ({ issuer: idp.base, audience, roleClaim: 'twl_role', ...overrides });

/** A token signed with `key` (RS256 by default), valid for 5 minutes unless the claims say otherwise. */
async function token(claims: JWTPayload, options: { key?: CryptoKey | Uint8Array; alg?: string; kid?: string; issuer?: string; audience?: string | string[] } = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const jwt = await new SignJWT({ sub: 'alice', twl_role: 'operator', ...claims })
    .setProtectedHeader({ alg: options.alg ?? 'RS256', kid: options.kid ?? 'rsa', typ: 'at+jwt' })
    .setIssuer(options.issuer ?? idp.base)
    .setAudience(options.audience ?? audience)
    .setIssuedAt(now - 5)
    .setExpirationTime(typeof claims.exp === 'number' ? claims.exp : now + 300)
    .sign(options.key ?? rsa.privateKey);
  signed.push(jwt);
  return jwt;
}

beforeAll(async () => {
  [rsa, ec, stranger] = await Promise.all([generateKeyPair('RS256'), generateKeyPair('ES256'), generateKeyPair('RS256')]);
  const keys = [
    { ...(await exportJWK(rsa.publicKey)), kid: 'rsa', alg: 'RS256', use: 'sig' },
    { ...(await exportJWK(ec.publicKey)), kid: 'ec', alg: 'ES256', use: 'sig' },
  ];
  idp = await startIdp({ keys });
});
afterAll(async () => {
  await idp?.close();
  // Whatever was refused and why, the logs never held a token.
  for (const jwt of signed) expect(logLines.join('\n')).not.toContain(jwt);
});
beforeEach(() => {
  idp.requests.length = 0;
});

describe('OAuth bearer JWTs', () => {
  it('accepts a token of the issuer for this audience, with its role', async () => {
    const verifier = createJwtVerifier(config(), logger);
    // Its expiry comes with it: a task the caller creates stops running then.
    const exp = Math.floor(Date.now() / 1000) + 600;
    expect(await verifier.verify(await token({ preferred_username: 'alice@example.test', exp }))).toEqual({ subject: 'alice', role: 'operator', name: 'alice@example.test', expiresAt: new Date(exp * 1000).toISOString() });
    // An aud list containing this server, an ES256 key of the same set, and a client's token named by client_id.
    expect(await verifier.verify(await token({ twl_role: 'admin' }, { audience: ['https://other.example', audience] }))).toMatchObject({ role: 'admin' });
    expect(await verifier.verify(await token({ sub: 'ci', twl_role: 'viewer', client_id: 'ci-bot' }, { key: ec.privateKey, alg: 'ES256', kid: 'ec' }))).toEqual({ subject: 'ci', role: 'viewer', name: 'ci-bot', expiresAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$/) });
    // Discovery and the key set were read once, then cached.
    expect(idp.requests).toEqual(['/.well-known/openid-configuration', '/keys']);
  });

  it('refuses a token for another audience, or from another issuer', async () => {
    const verifier = createJwtVerifier(config(), logger);
    const mark = logLines.length;
    expect(await verifier.verify(await token({}, { audience: 'https://someone-else.example' }))).toBeUndefined();
    expect(await verifier.verify(await token({}, { issuer: 'https://evil.example' }))).toBeUndefined();
    const refusals = logsSince(mark).filter((l) => l.reason);
    expect(refusals.map((l) => [l.reason, l.claim])).toEqual([
      ['ERR_JWT_CLAIM_VALIDATION_FAILED', 'aud'],
      ['ERR_JWT_CLAIM_VALIDATION_FAILED', 'iss'],
    ]);
    expect(refusals.every((l) => l.level === 20)).toBe(true);
  });

  it('refuses an expired token, beyond 30 s of clock skew', async () => {
    const verifier = createJwtVerifier(config(), logger);
    const now = Math.floor(Date.now() / 1000);
    const mark = logLines.length;
    expect(await verifier.verify(await token({ exp: now - 120 }))).toBeUndefined();
    expect(logsSince(mark).at(-1)).toMatchObject({ level: 20, reason: 'ERR_JWT_EXPIRED', claim: 'exp' });
    expect(await verifier.verify(await token({ exp: now - 10 }))).toMatchObject({ role: 'operator' });
  });

  it('refuses a token signed by a key not in the set, under a known kid or another', async () => {
    const verifier = createJwtVerifier(config(), logger);
    const mark = logLines.length;
    expect(await verifier.verify(await token({}, { key: stranger.privateKey }))).toBeUndefined();
    expect(await verifier.verify(await token({}, { key: stranger.privateKey, kid: 'stranger' }))).toBeUndefined();
    expect(logsSince(mark).flatMap((l) => l.reason ?? [])).toEqual(['ERR_JWS_SIGNATURE_VERIFICATION_FAILED', 'ERR_JWKS_NO_MATCHING_KEY']);
  });

  it('refuses an HS256 token whose secret is the public key (algorithm confusion), and alg none, without fetching keys', async () => {
    const verifier = createJwtVerifier(config(), logger);
    const pem = new TextEncoder().encode(await exportSPKI(rsa.publicKey));
    const jwk = new TextEncoder().encode(JSON.stringify(await exportJWK(rsa.publicKey)));
    expect(await verifier.verify(await token({ twl_role: 'admin' }, { key: pem, alg: 'HS256' }))).toBeUndefined();
    expect(await verifier.verify(await token({ twl_role: 'admin' }, { key: jwk, alg: 'HS256' }))).toBeUndefined();
    const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const unsecured = `${b64({ alg: 'none' })}.${b64({ iss: idp.base, aud: audience, sub: 'mallory', twl_role: 'admin', exp: 9_999_999_999 })}.`;
    expect(await verifier.verify(unsecured)).toBeUndefined();
    expect(await verifier.verify(`${b64({ alg: 'none' })}.${b64({ sub: 'mallory' })}.c2ln`)).toBeUndefined();
    expect(idp.requests).toEqual([]);
  });

  it('refuses a token without the role claim unless defaultRole is set, and an unknown role with a warning', async () => {
    const bare = await token({ twl_role: undefined });
    const mark = logLines.length;
    expect(await createJwtVerifier(config(), logger).verify(bare)).toBeUndefined();
    expect(logsSince(mark).at(-1)).toMatchObject({ level: 40, msg: expect.stringMatching(/no role claim/) });
    expect(await createJwtVerifier(config({ defaultRole: 'viewer' }), logger).verify(bare)).toEqual({ subject: 'alice', role: 'viewer', name: null, expiresAt: expect.any(String) });
    // A role claim that is present decides, whatever the default; a claim of another name is read when configured.
    const verifier = createJwtVerifier(config({ defaultRole: 'viewer' }), logger);
    expect(await verifier.verify(await token({ twl_role: 'manager' }))).toMatchObject({ role: 'manager' });
    const mark2 = logLines.length;
    expect(await verifier.verify(await token({ twl_role: 'root' }))).toBeUndefined();
    expect(await verifier.verify(await token({ twl_role: ['admin'] }))).toBeUndefined();
    expect(logsSince(mark2).map((l) => [l.level, l.msg])).toEqual([
      [40, expect.stringMatching(/role claim is not one of/)],
      [40, expect.stringMatching(/role claim is not one of/)],
    ]);
    expect(await createJwtVerifier(config({ roleClaim: 'https://twl.example/role' }), logger).verify(await token({ 'https://twl.example/role': 'admin' }))).toMatchObject({ role: 'admin' });
  });

  it('refuses API keys and other non-JWTs at once, without any request to the issuer', async () => {
    const verifier = createJwtVerifier(config(), logger);
    const apiKey = `twl_${Buffer.alloc(32, 7).toString('base64url')}`;
    for (const bad of [apiKey, 'twl_short', '', undefined, null, 'a.b', 'a.b.c.d.e', 'not a token', `${'a'.repeat(20_000)}.b.c`, 'eyJhbGciOiJSUzI1NiJ9.e30']) {
      expect(await verifier.verify(bad)).toBeUndefined();
    }
    expect(looksLikeJwt(apiKey)).toBe(false);
    expect(idp.requests).toEqual([]);
  });

  it('falls back to <issuer>/.well-known/jwks.json, or uses jwksUri without discovery', async () => {
    const plain = createJwtVerifier(config({ issuer: `${idp.base}/plain` }), logger);
    expect(await plain.verify(await token({}, { issuer: `${idp.base}/plain` }))).toMatchObject({ role: 'operator' });
    expect(idp.requests).toEqual(['/plain/.well-known/openid-configuration', '/plain/.well-known/jwks.json']);
    idp.requests.length = 0;
    const direct = createJwtVerifier(config({ jwksUri: `${idp.base}/keys` }), logger);
    expect(await direct.verify(await token({}))).toMatchObject({ role: 'operator' });
    expect(idp.requests).toEqual(['/keys']);
  });

  it('refuses tokens while discovery fails, without asking again at once, and a document naming another issuer', async () => {
    const issuer = `${idp.base}/down`;
    const down = createJwtVerifier(config({ issuer }), logger);
    const mark = logLines.length;
    expect(await down.verify(await token({}, { issuer }))).toBeUndefined();
    expect(await down.verify(await token({}, { issuer }))).toBeUndefined();
    expect(idp.requests).toEqual(['/down/.well-known/openid-configuration']);
    expect(logsSince(mark)).toEqual([expect.objectContaining({ level: 40, msg: expect.stringMatching(/discovery document is unavailable/) })]);
    const liar = createJwtVerifier(config({ issuer: `${idp.base}/liar` }), logger);
    expect(await liar.verify(await token({}, { issuer: `${idp.base}/liar` }))).toBeUndefined();
    expect(idp.requests).not.toContain('/keys');
  });

  it('warns when the key set cannot be read', async () => {
    const verifier = createJwtVerifier(config({ jwksUri: `${idp.base}/missing-keys` }), logger);
    const mark = logLines.length;
    expect(await verifier.verify(await token({}))).toBeUndefined();
    expect(logsSince(mark).at(-1)).toMatchObject({ level: 40, msg: expect.stringMatching(/JWKS could not be read/) });
  });
});
