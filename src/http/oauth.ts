import { createRemoteJWKSet, decodeProtectedHeader, errors, jwtVerify, type JWTPayload } from 'jose';
import type { Role } from '../ops/op.js';
import { isLoopbackUrl, type Config } from '../runtime/config.js';
import { messageOf } from '../runtime/errors.js';
import type { Logger } from '../runtime/logger.js';
import { isRole } from './keys.js';

/**
 * OAuth 2.0 bearer JWTs for `twl serve --http` (`http.oauth`), beside the API keys: a token is
 * accepted when an asymmetric key of the issuer's JWKS signed it, its `iss` is the configured
 * issuer, its `aud` is (or contains) this server's audience, it has `sub` and `exp` and has not
 * expired (30 s of clock skew allowed), and its role claim names a role (or `defaultRole` is set
 * and it has none). Anything else is refused alike (`undefined`); the reason goes to the debug log,
 * never the token itself.
 */

export type OAuthConfig = NonNullable<Config['http']['oauth']>;

export interface VerifiedJwt {
  /** The token's `sub`. */
  subject: string;
  role: Role;
  /** A display name: `preferred_username`, `name`, `client_id` or `azp`, the first that is a string. */
  name: string | null;
  /**
   * The token's `exp`, as an ISO 8601 time: when the caller's grant ends. A task the caller creates
   * records it, and its runs are refused after it (TWL_GRANT_EXPIRED): twl cannot ask the issuer
   * later whether the caller still has access, so the token's life is as long as its grant lasts.
   */
  expiresAt: string;
}

export interface JwtVerifier {
  /** The caller behind a bearer token, or undefined. A token that is not JWT-shaped costs no network call. */
  verify(token: string | undefined | null): Promise<VerifiedJwt | undefined>;
}

/** Asymmetric signatures only: an HMAC (HS*) token could be forged by anyone holding the public key. */
const jwtAlgorithms = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'];
const clockToleranceSeconds = 30;
/** Longer bearer tokens are refused unread. */
const maxTokenLength = 16 * 1024;
/** After the issuer's discovery document could not be read, JWTs are refused without asking again for this long. */
const discoveryRetryMs = 30_000;
const fetchTimeoutMs = 5_000;

const jwsCompact = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/** Whether a bearer token has the shape of a signed JWT (three base64url parts); API keys do not. */
export const looksLikeJwt = (token: string): boolean => token.length <= maxTokenLength && jwsCompact.test(token);

const secureUrl = (value: unknown): URL | undefined => {
  try {
    const url = new URL(String(value));
    return url.protocol === 'https:' || (url.protocol === 'http:' && isLoopbackUrl(url)) ? url : undefined;
  } catch {
    return undefined;
  }
};

/**
 * The JWKS URL of an issuer: `jwks_uri` of its OpenID discovery document, or
 * `<issuer>/.well-known/jwks.json` when it publishes none (404, 410) or the document names none.
 * Undefined when the document cannot be read or cannot be trusted (try again later).
 */
async function discoverJwksUri(issuer: string, logger: Logger): Promise<URL | undefined> {
  const base = issuer.replace(/\/+$/, '');
  const url = `${base}/.well-known/openid-configuration`;
  const fallback = new URL(`${base}/.well-known/jwks.json`);
  try {
    const res = await fetch(url, { headers: { accept: 'application/json' }, redirect: 'error', signal: AbortSignal.timeout(fetchTimeoutMs) });
    if (res.status === 404 || res.status === 410) {
      await res.body?.cancel();
      logger.debug({ url, jwksUri: fallback.href }, 'OAuth: the issuer publishes no discovery document; using its jwks.json');
      return fallback;
    }
    if (!res.ok) {
      await res.body?.cancel();
      logger.warn({ url, status: res.status }, 'OAuth: the issuer\'s discovery document is unavailable; bearer JWTs are refused until it answers');
      return undefined;
    }
    const doc = (await res.json()) as { issuer?: unknown; jwks_uri?: unknown } | null;
    if (doc && typeof doc.issuer === 'string' && doc.issuer !== issuer) {
      logger.warn({ url, issuer, documentIssuer: doc.issuer }, 'OAuth: the discovery document names another issuer than http.oauth.issuer (they must match exactly); bearer JWTs are refused');
      return undefined;
    }
    if (doc?.jwks_uri === undefined) {
      logger.debug({ url, jwksUri: fallback.href }, 'OAuth: the discovery document has no jwks_uri; using the issuer\'s jwks.json');
      return fallback;
    }
    const jwksUri = secureUrl(doc.jwks_uri);
    if (!jwksUri) {
      logger.warn({ url, jwksUri: String(doc.jwks_uri) }, 'OAuth: the discovered jwks_uri is not an https:// URL; bearer JWTs are refused');
      return undefined;
    }
    logger.debug({ jwksUri: jwksUri.href }, 'OAuth: discovered the issuer\'s JWKS');
    return jwksUri;
  } catch (err) {
    logger.warn({ url, error: messageOf(err) }, 'OAuth: cannot read the issuer\'s discovery document; bearer JWTs are refused until it answers');
    return undefined;
  }
}

/** Failures of the JWKS fetch (the operator should know) rather than of the token (the caller's business). */
const keySetTrouble = new Set(['ERR_JWKS_TIMEOUT', 'ERR_JWKS_INVALID', 'ERR_JOSE_GENERIC']);

const firstString = (payload: JWTPayload, claims: string[]): string | null => {
  for (const claim of claims) {
    const value = payload[claim];
    if (typeof value === 'string' && value) return value;
  }
  return null;
};

export function createJwtVerifier(cfg: OAuthConfig, logger: Logger): JwtVerifier {
  const jwksOptions = { timeoutDuration: fetchTimeoutMs };
  let keySet = cfg.jwksUri ? createRemoteJWKSet(new URL(cfg.jwksUri), jwksOptions) : undefined;
  let discovering: Promise<typeof keySet> | undefined;
  let discoveryFailedAt = -Infinity;

  /** The issuer's key set, discovered on first use (one request at a time), or undefined while it cannot be. */
  const keys = async (): Promise<typeof keySet> => {
    if (keySet) return keySet;
    if (Date.now() - discoveryFailedAt < discoveryRetryMs) return undefined;
    discovering ??= discoverJwksUri(cfg.issuer, logger).then((url) => {
      discovering = undefined;
      if (!url) discoveryFailedAt = Date.now();
      else keySet = createRemoteJWKSet(url, jwksOptions);
      return keySet;
    });
    return discovering;
  };

  return {
    async verify(token) {
      if (!token || !looksLikeJwt(token)) return undefined;
      let alg: string | undefined;
      let kid: string | undefined;
      try {
        ({ alg, kid } = decodeProtectedHeader(token));
      } catch {
        logger.debug('OAuth: bearer token refused: not a JWT');
        return undefined;
      }
      // Checked before any key is fetched: jwtVerify checks it again.
      if (!alg || !jwtAlgorithms.includes(alg)) {
        logger.debug({ alg: String(alg).slice(0, 32) }, 'OAuth: bearer JWT refused: its algorithm is not an asymmetric one');
        return undefined;
      }
      const keySetNow = await keys();
      if (!keySetNow) return undefined;
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(token, keySetNow, {
          issuer: cfg.issuer,
          audience: cfg.audience,
          algorithms: jwtAlgorithms,
          clockTolerance: clockToleranceSeconds,
          requiredClaims: ['sub', 'exp'],
        }));
      } catch (err) {
        const code = err instanceof errors.JOSEError ? err.code : undefined;
        const claim = err instanceof errors.JWTClaimValidationFailed || err instanceof errors.JWTExpired ? err.claim : undefined;
        const fields = { reason: code ?? 'ERR_FETCH', ...(claim ? { claim } : {}), alg, kid, error: messageOf(err) };
        if (!code || keySetTrouble.has(code)) logger.warn(fields, 'OAuth: bearer JWT refused: the issuer\'s JWKS could not be read');
        else logger.debug(fields, 'OAuth: bearer JWT refused');
        return undefined;
      }
      if (typeof payload.sub !== 'string' || !payload.sub) {
        logger.debug({ alg, kid }, 'OAuth: bearer JWT refused: its "sub" is not a string');
        return undefined;
      }
      const subject = payload.sub;
      const value = payload[cfg.roleClaim];
      let role: Role;
      if (value === undefined) {
        if (!cfg.defaultRole) {
          logger.warn({ subject, roleClaim: cfg.roleClaim }, 'OAuth: bearer JWT refused: it has no role claim and http.oauth.defaultRole is unset');
          return undefined;
        }
        role = cfg.defaultRole;
      } else if (isRole(value)) {
        role = value;
      } else {
        logger.warn({ subject, roleClaim: cfg.roleClaim, value: typeof value === 'string' ? value.slice(0, 64) : typeof value }, 'OAuth: bearer JWT refused: its role claim is not one of viewer, operator, manager, admin');
        return undefined;
      }
      // jwtVerify required `exp` and checked it is a number in the future (within the clock skew).
      return { subject, role, name: firstString(payload, ['preferred_username', 'name', 'client_id', 'azp']), expiresAt: new Date(payload.exp! * 1000).toISOString() };
    },
  };
}
