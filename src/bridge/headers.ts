/**
 * The seed's request headers on the bridge's REST face (and on /mcp): X-Session-ID names the
 * caller's session, X-Priority its place in the upstream's queue, X-Timeout how long the call
 * may take. Each is checked strictly: a bad value is the caller's error (400), never ignored.
 */
import { durationHint, parseDuration } from '../runtime/duration.js';

/** The seed's priority names, highest first; a number is accepted too (higher runs first, 0 is the default). */
export const priorityNames = { CRITICAL: 2, HIGH: 1, MEDIUM: 0, LOW: -1, BULK: -2 } as const;
export type PriorityName = keyof typeof priorityNames;
const PRIORITY_RANGE = 100;
/** The longest X-Timeout accepted: a call that needs longer belongs in a job, not an HTTP request. */
export const MAX_TIMEOUT_MS = 10 * 60_000;
const SESSION_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export class HeaderError extends Error {}

/** A header's one value; a header sent twice is refused (two priorities or timeouts cannot both hold). */
function single(value: string | string[] | undefined, name: string): string | undefined {
  if (Array.isArray(value)) {
    if (value.length > 1) throw new HeaderError(`${name} was sent ${value.length} times; send it once.`);
    return value[0];
  }
  return value;
}

/** X-Priority: a seed name (CRITICAL, HIGH, MEDIUM, LOW, BULK; any case) or an integer from -100 to 100. */
export function parsePriority(header: string | string[] | undefined): number | undefined {
  const raw = single(header, 'X-Priority')?.trim();
  if (raw === undefined || raw === '') return undefined;
  const named = priorityNames[raw.toUpperCase() as PriorityName];
  if (named !== undefined && /^[A-Za-z]+$/.test(raw)) return named;
  if (/^[+-]?\d{1,3}$/.test(raw)) {
    const n = Number(raw);
    if (Math.abs(n) <= PRIORITY_RANGE) return n;
  }
  throw new HeaderError(`X-Priority ${JSON.stringify(raw.slice(0, 40))} is not a priority: use ${Object.keys(priorityNames).join(', ')}, or an integer from -${PRIORITY_RANGE} to ${PRIORITY_RANGE} (higher runs first).`);
}

/** X-Timeout: seconds (the seed's `30`) or a duration (`500ms`, `2m`), more than 0 and at most 10 minutes; milliseconds. */
export function parseTimeout(header: string | string[] | undefined): number | undefined {
  const raw = single(header, 'X-Timeout')?.trim();
  if (raw === undefined || raw === '') return undefined;
  const ms = raw.length <= 20 ? parseDuration(raw) : undefined;
  if (ms === undefined || ms < 1 || ms > MAX_TIMEOUT_MS) throw new HeaderError(`X-Timeout ${JSON.stringify(raw.slice(0, 40))} is not a timeout: expected ${durationHint}, more than 0 and at most ${MAX_TIMEOUT_MS / 60_000} minutes.`);
  return ms;
}

/** X-Session-ID: 1 to 128 letters, digits and . _ : - (it names a session, and may name an upstream child in isolated sharing). */
export function parseSessionId(header: string | string[] | undefined): string | undefined {
  const raw = single(header, 'X-Session-ID');
  if (raw === undefined || raw === '') return undefined;
  if (!SESSION_ID.test(raw)) throw new HeaderError(`X-Session-ID ${JSON.stringify(raw.slice(0, 40))} is not a session id: use 1 to 128 letters, digits, '.', '_', ':' or '-'.`);
  return raw;
}

/** The name a priority shows under in /mcp/status (its seed name, or the number). */
export function priorityLabel(priority: number): string {
  const name = (Object.keys(priorityNames) as PriorityName[]).find((k) => priorityNames[k] === priority);
  return name ?? String(priority);
}
