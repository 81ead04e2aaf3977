import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { messageOf } from '../../runtime/errors.js';
import { redactText } from '../../runtime/redact.js';
import type { Finding, Severity } from './rules.js';

export const auditStatuses = ['ran', 'skipped', 'unavailable'] as const;

export interface AuditOutcome {
  /** ran: npm answered; skipped: not asked or no lockfile; unavailable: npm or its advisory service failed. */
  status: (typeof auditStatuses)[number];
  /** The lockfile audited, relative to the scan root. */
  lockfile: string | null;
  /** Vulnerable packages npm reported (0 unless it ran). */
  vulnerabilities: number;
  /** Why it was skipped or unavailable; null when it ran. */
  detail: string | null;
  findings: Finding[];
}

const lockfiles = ['npm-shrinkwrap.json', 'package-lock.json'];

/** The npm lockfile in a directory, if any (npm-shrinkwrap.json wins, as npm reads it first). */
export const findLockfile = (dir: string): string | undefined => lockfiles.map((name) => path.join(dir, name)).find((file) => existsSync(file));

interface AuditAdvisory {
  title?: string;
  url?: string;
  severity?: string;
}

interface AuditVulnerability {
  name?: string;
  severity?: string;
  range?: string;
  isDirect?: boolean;
  via?: Array<AuditAdvisory | string>;
  nodes?: string[];
  fixAvailable?: boolean | { name?: string; version?: string; isSemVerMajor?: boolean };
}

export interface AuditReport {
  vulnerabilities?: Record<string, AuditVulnerability>;
  message?: string;
  error?: { code?: string; summary?: string; detail?: string } | string;
}

const severityOf = (npmSeverity: string | undefined): Severity => (npmSeverity === 'critical' || npmSeverity === 'high' ? 'error' : npmSeverity === 'moderate' ? 'warning' : 'note');

/** The line where a package sits in the lockfile (`"node_modules/name": {`), so the finding points somewhere useful. */
function lockfileLine(lockText: string, node: string | undefined): number {
  if (!node) return 1;
  const index = lockText.split(/\r?\n/).findIndex((line) => line.includes(`"${node}":`));
  return index < 0 ? 1 : index + 1;
}

function describeVulnerability(name: string, v: AuditVulnerability): string {
  const advisories = (v.via ?? []).filter((x): x is AuditAdvisory => typeof x === 'object' && x !== null);
  const through = (v.via ?? []).filter((x): x is string => typeof x === 'string');
  const what = advisories.length ? advisories.map((a) => `${a.title ?? 'advisory'}${a.url ? ` (${a.url})` : ''}`).join('; ') : `through ${through.join(', ') || 'a dependency'}`;
  const fix = v.fixAvailable === true ? 'fix available (npm audit fix)' : typeof v.fixAvailable === 'object' ? `fix: ${v.fixAvailable.name}@${v.fixAvailable.version}${v.fixAvailable.isSemVerMajor ? ' (major upgrade)' : ''}` : 'no fix available';
  return `${name} ${v.range ?? ''} has a known ${v.severity ?? ''} vulnerability${v.isDirect ? ' (direct dependency)' : ''}: ${what}; ${fix}.`.replace(/\s+/g, ' ');
}

/** Findings from an `npm audit --json` report (npm 7+ format), one per vulnerable package. */
export function findingsFromAudit(report: AuditReport, lockfile: string, lockText: string): Finding[] {
  return Object.entries(report.vulnerabilities ?? {})
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, v]) => ({
      file: lockfile,
      line: lockfileLine(lockText, v.nodes?.[0]),
      column: 1,
      rule: 'dependency/npm-audit',
      severity: severityOf(v.severity),
      message: describeVulnerability(name, v),
      snippet: null,
      source: 'npm-audit' as const,
    }));
}

/** What npm said went wrong, from its JSON error or its stderr. */
function auditFailure(report: AuditReport | undefined, stderr: string): string {
  const error = report?.error;
  const fromJson = report?.message ?? (typeof error === 'string' ? error : [error?.code, error?.summary, error?.detail].filter(Boolean).join(': '));
  const fromStderr = stderr.split('\n').filter((l) => /error/i.test(l) && !/complete log/i.test(l)).join(' ').trim();
  return redactText(fromJson || fromStderr || 'no report');
}

const parseReport = (stdout: string): AuditReport | undefined => {
  try {
    return JSON.parse(stdout) as AuditReport;
  } catch {
    return undefined;
  }
};

/**
 * Runs `npm audit --json --package-lock-only` in the directory when it has an npm lockfile.
 * npm missing, the registry unreachable or an unusable answer give `unavailable` with the
 * reason: never an empty report that would read as "no vulnerabilities".
 */
export async function auditDependencies(dir: string, root: string, options: { signal?: AbortSignal; npm?: string; timeoutMs?: number } = {}): Promise<AuditOutcome> {
  const lock = findLockfile(dir);
  if (!lock) return { status: 'skipped', lockfile: null, vulnerabilities: 0, detail: `no package-lock.json or npm-shrinkwrap.json in ${path.relative(root, dir) || '.'}`, findings: [] };
  const lockfile = path.relative(root, lock).split(path.sep).join('/');
  const unavailable = (detail: string): AuditOutcome => ({ status: 'unavailable', lockfile, vulnerabilities: 0, detail, findings: [] });
  let run;
  try {
    const { execa } = await import('execa');
    run = await execa(options.npm ?? 'npm', ['audit', '--json', '--package-lock-only'], { cwd: dir, reject: false, timeout: options.timeoutMs ?? 120_000, cancelSignal: options.signal, stdin: 'ignore' });
  } catch (err) {
    return unavailable(`could not run npm: ${messageOf(err)}`);
  }
  if (run.failed && (run.timedOut || run.isCanceled)) return unavailable(run.timedOut ? 'npm audit did not finish in time' : 'npm audit was cancelled');
  if (run.failed && run.exitCode === undefined) return unavailable(`could not run ${options.npm ?? 'npm'}: ${(run.shortMessage ?? 'not found').split('\n')[0]}`);
  const report = parseReport(String(run.stdout));
  if (!report?.vulnerabilities || typeof report.vulnerabilities !== 'object') return unavailable(`npm audit failed: ${auditFailure(report, String(run.stderr))}`);
  const findings = findingsFromAudit(report, lockfile, await readFile(lock, 'utf8'));
  return { status: 'ran', lockfile, vulnerabilities: findings.length, detail: null, findings };
}
