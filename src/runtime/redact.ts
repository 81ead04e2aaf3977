/**
 * The one redaction routine for everything twl prints or logs: URLs, connection strings,
 * error messages, configuration. `redactText` hides secrets inside free text; `redactDeep`
 * also hides the values of secret-looking keys in objects.
 */

/** Keys whose value is a secret (objects, query parameters, DSN key=value pairs). */
const secretName = String.raw`[\w.-]*pass(?:word|wd|phrase)|pass|[\w.-]*pwd|[\w.-]*secret[\w.-]*|[\w.-]*token|api[-_]?key|apikey|access[-_]?key(?:[-_]?id)?|private[-_]?key|auth|authorization|sig|[\w.-]*signature|credentials?|cookie|session[-_]?id`;

/** An object key that holds a secret (not token counts such as maxTokens, nor a setting named auth). */
const secretKey = /^(?:pass|pwd)$|pass(?:word|wd|phrase)|secret|token(?!s$|s?[-_]?count)|api[-_]?key|access[-_]?key|credential|private[-_]?key|authorization|cookie/i;

const patterns: Array<[RegExp, string]> = [
  // scheme://user:password@host and scheme://:password@host (the last @ of the authority ends it).
  [/\b([a-z][a-z0-9+.-]*:\/\/)([^\s:@/?#]*):(\S*?)@(?=[^\s@/?#]*(?:[/?#\s"'<>)\],;]|$))/gi, '$1$2:***@'],
  // A token as the user of a URL (https://ghp_…@github.com): known token shapes only, a user name stays.
  [/\b([a-z][a-z0-9+.-]*:\/\/)(?:gh[pousr]_|github_pat_|glpat-|xox[abpr]-)[^\s:@/?#]*@/gi, '$1***@'],
  // key=value in query strings, fragments, DSNs (libpq, JDBC, ADO) and free text: password=…, ?sslpassword=…, ;Password=…, access_token=…
  [new RegExp(String.raw`((?:^|[?&;#\s,("'])(?:${secretName})\s*=\s*)('[^']*'|"[^"]*"|[^\s&;,'"#)]+)`, 'gi'), '$1***'],
  // "password": "…" in JSON quoted inside text.
  [new RegExp(String.raw`("(?:${secretName})"\s*:\s*)"(?:[^"\\]|\\.)*"`, 'gi'), '$1"***"'],
  // Authorization header values.
  [/\b(Bearer|Basic|Token)\s+[A-Za-z0-9._~+/=-]{8,}/g, '$1 ***'],
];

/** Hides every secret in free text: URL passwords, secret parameters, JSON secrets, bearer tokens. */
export function redactText(text: string): string {
  let out = text;
  for (const [pattern, replacement] of patterns) out = out.replace(pattern, replacement);
  return out;
}

/** A URL (or any connection string) fit to print: the same routine as for free text. */
export const redactUrl = (url: string): string => redactText(url);

/** A deep copy with secret-looking keys hidden and secrets in strings masked (Errors become { type, message, stack }). */
export function redactDeep<T>(value: T): T {
  if (typeof value === 'string') return redactText(value) as T;
  if (Array.isArray(value)) return value.map((v) => redactDeep(v)) as T;
  if (value instanceof Error) return { ...redactDeep({ ...value }), type: value.name, message: redactText(value.message), ...(value.stack ? { stack: redactText(value.stack) } : {}) } as T;
  if (value && typeof value === 'object' && (Object.getPrototypeOf(value) === Object.prototype || Object.getPrototypeOf(value) === null)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = secretKey.test(k) && v !== undefined && v !== null && v !== '' ? '[redacted]' : redactDeep(v);
    return out as T;
  }
  return value;
}
