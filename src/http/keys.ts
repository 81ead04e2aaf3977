import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { roles, type Role } from '../ops/op.js';
import { TwlError } from '../runtime/errors.js';
import type { Queryable } from '../store/types.js';

/**
 * API keys for `twl serve --http`: `twl_` and 32 random bytes (base64url), shown once at creation.
 * The store keeps a SHA-256 of the key (hex, unique-indexed) and its first characters for display.
 * A fast hash is enough here: a 256-bit random key cannot be guessed, so a slow hash (scrypt) would
 * only cost CPU on every request and rule out the indexed lookup by hash.
 */

export const keyPrefix = 'twl_';
/** `twl_` and the base64url of 32 bytes (43 characters). */
export const keyPattern = /^twl_[A-Za-z0-9_-]{43}$/;
/** Characters of a key kept for display and for `twl keys revoke PREFIX`: `twl_` and 8 more. */
export const displayPrefixLength = 12;
/** last_used_at is written at most this often per key, so verification stays a read. */
export const touchIntervalSeconds = 60;

export interface CreatedKey {
  id: number;
  /** The key itself: shown once, never stored. */
  key: string;
  prefix: string;
  role: Role;
  name: string | null;
  /** The catalog namespaces it may list and call; null: every one. */
  namespaces: string[] | null;
  createdAt: string;
}

export interface KeyInfo {
  id: number;
  name: string | null;
  role: Role;
  prefix: string;
  namespaces: string[] | null;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

export interface VerifiedKey {
  id: number;
  role: Role;
  name: string | null;
  /** The catalog namespaces it may list and call; undefined: every one. */
  namespaces?: string[];
}

/** A namespace a key may be granted: twl's own (`twl`), workflows (`workflow`) or an upstream's namespace. */
export const namespacePattern = /^[a-z][a-z0-9-]{0,31}$/;

/** `--namespaces a,b` as a checked, deduplicated list; TWL_INPUT_INVALID naming the bad one. */
export function parseNamespaces(value: string | string[] | undefined | null): string[] | null {
  if (value === undefined || value === null) return null;
  const list = (Array.isArray(value) ? value : value.split(',')).map((n) => n.trim()).filter(Boolean);
  if (!list.length) throw new TwlError('TWL_INPUT_INVALID', 'No namespace given: --namespaces takes a comma-separated list, e.g. twl,memory.', { actions: ['Leave --namespaces out for a key that sees every namespace.'] });
  for (const n of list) {
    if (!namespacePattern.test(n)) throw new TwlError('TWL_INPUT_INVALID', `${JSON.stringify(n.slice(0, 40))} is not a namespace: lowercase letters, digits and -, starting with a letter, at most 32 characters.`, { actions: ['Name twl (its own tools), workflow, or an upstream\'s namespace (`twl upstream list`).'] });
  }
  return [...new Set(list)].sort();
}

export const hashKey = (key: string): string => createHash('sha256').update(key, 'utf8').digest('hex');

export const isRole = (value: unknown): value is Role => typeof value === 'string' && (roles as readonly string[]).includes(value);

/** The token of an `Authorization: Bearer …` header, or undefined when there is none (scheme case-insensitive). */
export function bearerToken(header: string | string[] | undefined | null): string | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  const match = value ? /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(value) : null;
  return match?.[1];
}

const iso = (value: unknown): string | null => (value === null || value === undefined ? null : new Date(value as string | Date).toISOString());

interface KeyRow {
  id: string | number;
  name: string | null;
  role: Role;
  prefix: string;
  namespaces: string[] | null;
  created_at: Date | string;
  last_used_at: Date | string | null;
  revoked_at: Date | string | null;
}

const toInfo = (r: KeyRow): KeyInfo => ({
  id: Number(r.id),
  name: r.name,
  role: r.role,
  prefix: r.prefix,
  namespaces: r.namespaces ?? null,
  createdAt: iso(r.created_at)!,
  lastUsedAt: iso(r.last_used_at),
  revokedAt: iso(r.revoked_at),
});

const columns = 'id, name, role, prefix, namespaces, created_at, last_used_at, revoked_at';

/** Creates a key with a role; the returned `key` is the only time it exists outside the caller's hands. */
export async function createKey(store: Queryable, options: { role: string; name?: string | null; namespaces?: string[] | null }): Promise<CreatedKey> {
  const { role } = options;
  if (!isRole(role)) throw new TwlError('TWL_INPUT_INVALID', `Unknown role "${role}": expected one of ${roles.join(', ')}.`);
  const name = options.name?.trim() || null;
  if (name !== null && name.length > 200) throw new TwlError('TWL_INPUT_INVALID', 'A key name is at most 200 characters.');
  const key = keyPrefix + randomBytes(32).toString('base64url');
  const prefix = key.slice(0, displayPrefixLength);
  const namespaces = options.namespaces ? parseNamespaces(options.namespaces) : null;
  const { rows } = await store.query<KeyRow>(`INSERT INTO twl_api_keys (name, role, prefix, hash, namespaces) VALUES ($1, $2, $3, $4, $5) RETURNING ${columns}`, [name, role, prefix, hashKey(key), namespaces]);
  const info = toInfo(rows[0]!);
  return { id: info.id, key, prefix, role, name, namespaces, createdAt: info.createdAt };
}

/** Every key, oldest first, without its hash (the key itself is never stored). */
export async function listKeys(store: Queryable, options: { includeRevoked?: boolean } = {}): Promise<KeyInfo[]> {
  const where = options.includeRevoked === false ? 'WHERE revoked_at IS NULL' : '';
  const { rows } = await store.query<KeyRow>(`SELECT ${columns} FROM twl_api_keys ${where} ORDER BY id`);
  return rows.map(toInfo);
}

export interface RevokeResult extends KeyInfo {
  /** False when it was revoked already (revoking is idempotent). */
  revoked: boolean;
}

/**
 * Revokes a key named by its id, its display prefix (`twl_AbCdEfGh`) or the full key. A prefix
 * shared by several live keys is refused (name the id instead).
 */
export async function revokeKey(store: Queryable, idOrPrefix: string): Promise<RevokeResult> {
  const ref = idOrPrefix.trim();
  let match: KeyRow[];
  if (/^\d{1,18}$/.test(ref)) {
    match = (await store.query<KeyRow>(`SELECT ${columns} FROM twl_api_keys WHERE id = $1`, [ref])).rows;
  } else if (keyPattern.test(ref)) {
    match = (await store.query<KeyRow>(`SELECT ${columns} FROM twl_api_keys WHERE hash = $1`, [hashKey(ref)])).rows;
  } else if (ref.startsWith(keyPrefix) && ref.length >= displayPrefixLength) {
    match = (await store.query<KeyRow>(`SELECT ${columns} FROM twl_api_keys WHERE prefix = $1 ORDER BY id`, [ref.slice(0, displayPrefixLength)])).rows;
    if (match.length > 1) match = match.filter((r) => r.revoked_at === null);
  } else {
    throw new TwlError('TWL_INPUT_INVALID', `"${ref}" is neither a key id nor a key prefix (${keyPrefix} and 8 more characters, as \`twl keys list\` shows).`, {
      actions: ['Run `twl keys list` to see the keys, their ids and prefixes.'],
    });
  }
  if (match.length > 1) {
    throw new TwlError('TWL_INPUT_INVALID', `The prefix ${ref} matches ${match.length} live keys (ids ${match.map((r) => r.id).join(', ')}): revoke by id instead.`, {
      actions: ['Run `twl keys list` to see the keys, then `twl keys revoke ID`.'],
    });
  }
  const row = match[0];
  if (!row) {
    throw new TwlError('TWL_INPUT_INVALID', `No API key ${ref}.`, { actions: ['Run `twl keys list` to see the keys, their ids and prefixes.'] });
  }
  if (row.revoked_at !== null) return { ...toInfo(row), revoked: false };
  const { rows } = await store.query<KeyRow>(`UPDATE twl_api_keys SET revoked_at = now() WHERE id = $1 RETURNING ${columns}`, [row.id]);
  return { ...toInfo(rows[0]!), revoked: true };
}

/**
 * The key behind a bearer token, or null: malformed, unknown and revoked keys all fail alike.
 * One indexed statement per call; it also records last_used_at, at most once a minute per key.
 */
export async function verifyKey(store: Queryable, token: string | undefined | null): Promise<VerifiedKey | null> {
  if (!token || !keyPattern.test(token)) return null;
  return verifyHash(store, hashKey(token));
}

/** verifyKey for a well-formed key already hashed. */
async function verifyHash(store: Queryable, hash: string): Promise<VerifiedKey | null> {
  const { rows } = await store.query<{ id: string | number; name: string | null; role: Role; hash: string; namespaces: string[] | null }>(
    `WITH k AS (SELECT id, name, role, hash, namespaces FROM twl_api_keys WHERE hash = $1 AND revoked_at IS NULL),
          touched AS (UPDATE twl_api_keys SET last_used_at = now()
                      WHERE id IN (SELECT id FROM k) AND (last_used_at IS NULL OR last_used_at < now() - make_interval(secs => $2::float8)))
     SELECT id, name, role, hash, namespaces FROM k`,
    [hash, touchIntervalSeconds],
  );
  const row = rows[0];
  // The index found the row by hash; compare again in constant time so the answer never depends on a
  // short-circuiting string comparison.
  if (!row || !timingSafeEqual(Buffer.from(row.hash, 'hex'), Buffer.from(hash, 'hex'))) return null;
  if (!isRole(row.role)) return null;
  return { id: Number(row.id), role: row.role, name: row.name, ...(row.namespaces ? { namespaces: row.namespaces } : {}) };
}

/** How long a verification is reused without asking the store (a revoked key stops working within this). */
export const KEY_RECHECK_MS = 2_000;
/** While the store is unreachable, keys verified this recently keep working. */
export const KEY_OUTAGE_GRACE_MS = 10 * 60_000;

/**
 * Verifies keys for a running server: a key verified in the last {@link KEY_RECHECK_MS} is not
 * looked up again (one store round trip saved per request), and while the store is unreachable
 * a key verified in the last {@link KEY_OUTAGE_GRACE_MS} still works, so calls that do not need
 * the store go on during an outage. Unknown keys always go to the store.
 */
export class KeyVerifier {
  private readonly known = new Map<string, { key: VerifiedKey; at: number }>();

  constructor(
    private readonly store: Queryable,
    private readonly onGrace: (key: VerifiedKey) => void = () => undefined,
  ) {}

  async verify(token: string | undefined | null): Promise<VerifiedKey | null> {
    if (!token || !keyPattern.test(token)) return null;
    const hash = hashKey(token);
    const known = this.known.get(hash);
    const now = Date.now();
    if (known && now - known.at < KEY_RECHECK_MS) return known.key;
    try {
      const key = await verifyHash(this.store, hash);
      if (key) this.known.set(hash, { key, at: now });
      else this.known.delete(hash);
      // Bounded: drop entries too old to be of use to either rule.
      if (this.known.size > 10_000) for (const [h, k] of this.known) if (now - k.at > KEY_OUTAGE_GRACE_MS) this.known.delete(h);
      return key;
    } catch (err) {
      if (known && err instanceof TwlError && err.code === 'TWL_STORE_UNAVAILABLE' && now - known.at < KEY_OUTAGE_GRACE_MS) {
        this.onGrace(known.key);
        return known.key;
      }
      throw err;
    }
  }
}
