import type { Finding, Severity } from './rules.js';

/** A secret found in a file: where, which rule, and the secret itself (kept only to mask it elsewhere, never output). */
export interface SecretHit {
  line: number;
  column: number;
  rule: string;
  severity: Severity;
  message: string;
  secret: string;
}

interface SecretPattern {
  rule: string;
  severity: Severity;
  message: string;
  regex: RegExp;
  /** The capture group holding the secret (0: the whole match). */
  group: number;
  accept?: (secret: string) => boolean;
}

const placeholder = /^(?:\$\{.*\}|\$[A-Z_]+|\{\{.*\}\}|<[^>]*>|x{3,}|\*{3,}|\.{3,}|(?:your|my|some|example|dummy|sample|test|fake)[-_]?\w*|bearer|basic|true|false|null|undefined|none|string|number|required|optional|password|passwd|secret|token|redacted|\[redacted\]|changeit)$/i;
const notPlaceholder = (value: string) => !placeholder.test(value) && new Set(value).size > 2;

const patterns: SecretPattern[] = [
  { rule: 'secret/aws-access-key', severity: 'error', message: 'AWS access key id', regex: /\b((?:AKIA|ASIA)[0-9A-Z]{16})\b/g, group: 1 },
  {
    rule: 'secret/aws-secret-key',
    severity: 'error',
    message: 'AWS secret access key',
    regex: /aws_?(?:secret|sk)[\w-]{0,20}["']?\s*[:=]\s*["']?([A-Za-z0-9/+=]{40})(?![A-Za-z0-9/+=])/gi,
    group: 1,
  },
  { rule: 'secret/github-token', severity: 'error', message: 'GitHub token', regex: /\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{50,255})\b/g, group: 0 },
  { rule: 'secret/slack-token', severity: 'error', message: 'Slack token', regex: /\bxox[abposre]-[A-Za-z0-9-]{10,}/g, group: 0 },
  { rule: 'secret/private-key', severity: 'error', message: 'private key block', regex: /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----/g, group: 0 },
  {
    rule: 'secret/hardcoded-credential',
    severity: 'warning',
    message: 'credential assigned a literal value',
    regex: /\b[\w.-]*(?:password|passwd|pwd|secret|token|api[-_]?key|access[-_]?key|auth[-_]?key|client[-_]?secret)[\w-]*["']?\s*(?::|=|:=|=>)\s*["']([^"'\s]{6,200})["']/gi,
    group: 1,
    accept: notPlaceholder,
  },
];

/** Shannon entropy in bits per character. */
export function shannonEntropy(text: string): number {
  if (!text) return 0;
  const counts = new Map<string, number>();
  for (const ch of text) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let bits = 0;
  for (const n of counts.values()) {
    const p = n / text.length;
    bits -= p * Math.log2(p);
  }
  return bits;
}

const quoted = /(["'`])([A-Za-z0-9+/=_-]{24,512})\1/g;
const notSecretShaped = /^(?:sha\d+-|[a-z]+(?:[-_][a-z]+)*$|[A-Z]+(?:_[A-Z]+)*$)/;

/** A quoted, space-free string that looks random: base64-like with at least 4.2 bits per char, or hex with 32+ chars and 3.5 bits. */
export function looksRandom(value: string): boolean {
  if (notSecretShaped.test(value) || value.includes('//')) return false;
  const entropy = shannonEntropy(value);
  if (/^[0-9a-f]+$/i.test(value)) return value.length >= 32 && entropy >= 3.5;
  const classes = [/[a-z]/, /[A-Z]/, /[0-9]/].filter((r) => r.test(value)).length;
  return classes >= 2 && /[0-9]/.test(value) && entropy >= 4.2;
}

/** Never a secret in full: the first 4 characters, then ***. */
export const maskSecret = (secret: string): string => `${secret.slice(0, Math.min(4, Math.floor(secret.length / 4)))}***`;

/** Replaces every occurrence of the given secrets in a text by their masked form. */
export function maskSecrets(text: string, secrets: Iterable<string>): string {
  let out = text;
  for (const secret of [...secrets].sort((a, b) => b.length - a.length)) if (secret.length >= 6) out = out.split(secret).join(maskSecret(secret));
  return out;
}

function patternHits(line: string, lineNo: number): SecretHit[] {
  const hits: SecretHit[] = [];
  for (const p of patterns) {
    for (const m of line.matchAll(p.regex)) {
      const secret = m[p.group];
      if (!secret || (p.accept && !p.accept(secret))) continue;
      const column = (m.index ?? 0) + m[0].indexOf(secret) + 1;
      hits.push({ line: lineNo, column, rule: p.rule, severity: p.severity, message: p.message, secret });
    }
  }
  return hits;
}

function entropyHits(line: string, lineNo: number, known: SecretHit[]): SecretHit[] {
  const hits: SecretHit[] = [];
  for (const m of line.matchAll(quoted)) {
    const value = m[2]!;
    if (known.some((k) => k.secret.includes(value) || value.includes(k.secret)) || !looksRandom(value)) continue;
    hits.push({ line: lineNo, column: (m.index ?? 0) + 2, rule: 'secret/high-entropy-string', severity: 'warning', message: `random-looking string (${shannonEntropy(value).toFixed(1)} bits/char)`, secret: value });
  }
  return hits;
}

/** Secrets in a text, line by line: well-known token shapes, credential assignments, then high-entropy strings. */
export function findSecrets(text: string): SecretHit[] {
  const hits: SecretHit[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    if (line.length > 5000) return; // minified or data: entropy there is noise
    const found = patternHits(line, i + 1);
    // One secret reported once: a specific rule wins over the generic assignment rule.
    const specific = found.filter((h) => h.rule !== 'secret/hardcoded-credential');
    const generic = found.filter((h) => h.rule === 'secret/hardcoded-credential' && !specific.some((s) => s.secret.includes(h.secret) || h.secret.includes(s.secret)));
    hits.push(...specific, ...generic, ...entropyHits(line, i + 1, [...specific, ...generic]));
  });
  return hits;
}

/** Findings for the secrets, each with the line as snippet and every secret on it masked. */
export function secretFindings(file: string, lines: string[], hits: SecretHit[]): Finding[] {
  const secrets = hits.map((h) => h.secret);
  return hits.map((h) => {
    const snippet = lines[h.line - 1]?.trim() ?? '';
    const masked = maskSecrets(snippet, secrets);
    return {
      file,
      line: h.line,
      column: h.column,
      rule: h.rule,
      severity: h.severity,
      message: `Hard-coded ${h.message}: ${maskSecret(h.secret)}. Move it to an environment variable or a secret store, and rotate it.`,
      snippet: masked.length > 200 ? `${masked.slice(0, 199)}…` : masked || null,
      source: 'static' as const,
    };
  });
}
