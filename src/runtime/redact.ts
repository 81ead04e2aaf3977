const secretKey = /pass(word)?|secret|token|api[-_]?key|credential|private/i;

/** Hides the password of a connection URL (`postgres://u:pw@h/db` → `postgres://u:***@h/db`). */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (!parsed.password) return url;
    parsed.password = '***';
    return parsed.toString();
  } catch {
    return url.replace(/\/\/([^:/@]+):[^@/]*@/, '//$1:***@');
  }
}

/** Replaces every URL password in free text (error messages from drivers quote URLs). */
export const redactText = (text: string): string => text.replace(/\b([a-z][a-z0-9+.-]*:\/\/[^:/@\s]+):[^@/\s]*@/gi, '$1:***@');

/** A deep copy with secret-looking keys hidden and URL passwords masked. */
export function redactDeep<T>(value: T): T {
  if (typeof value === 'string') return redactText(value) as T;
  if (Array.isArray(value)) return value.map((v) => redactDeep(v)) as T;
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = secretKey.test(k) && v !== undefined && v !== null ? '[redacted]' : redactDeep(v);
    return out as T;
  }
  return value;
}
