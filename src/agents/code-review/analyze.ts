import path from 'node:path';
import type { Llm } from '../../runtime/llm.js';
import { auditDependencies, type AuditOutcome } from './audit.js';
import { llmReview } from './llm-review.js';
import { compareFindings, countBySeverity, isSecurityRule, type Finding, type Severity } from './rules.js';
import { findSecrets, maskSecrets, secretFindings } from './secrets.js';
import { analyzeText } from './text.js';
import { analyzeTypeScript, scriptKindOf } from './typescript.js';
import { walk, type SourceFile, type WalkLimits, type WalkResult } from './walk.js';

/** review: every check; security: secrets and dangerous calls only (the scan). */
export type Scope = 'review' | 'security';

export interface FileAnalysis {
  findings: Finding[];
  /** The secrets found, to mask them anywhere else (never output). */
  secrets: string[];
}

/** All static findings for one file, with every secret of the file masked in every snippet. */
export function analyzeSource(file: string, text: string, scope: Scope = 'review'): FileAnalysis {
  const lines = text.split(/\r?\n/);
  const hits = findSecrets(text);
  const secrets = [...new Set(hits.map((h) => h.secret))];
  const kind = scriptKindOf(file);
  const code = kind === undefined ? analyzeText(file, text) : analyzeTypeScript(file, text, kind);
  const kept = scope === 'security' ? code.filter((f) => isSecurityRule(f.rule)) : code;
  const masked = kept.map((f) => (f.snippet && secrets.length ? { ...f, snippet: maskSecrets(f.snippet, secrets) } : f));
  return { findings: [...secretFindings(file, lines, hits), ...masked], secrets };
}

const severityRank: Record<Severity, number> = { error: 0, warning: 1, note: 2 };

/** The most severe findings first up to the cap, then in file order; counts cover all of them. */
export function capFindings(findings: Finding[], max: number): { findings: Finding[]; counts: Record<Severity, number>; total: number; truncated: boolean } {
  const counts = countBySeverity(findings);
  const kept = findings.length <= max ? findings : [...findings].sort((a, b) => severityRank[a.severity] - severityRank[b.severity] || compareFindings(a, b)).slice(0, max);
  return { findings: [...kept].sort(compareFindings), counts, total: findings.length, truncated: findings.length > max };
}

export interface CodeReport {
  /** What was asked for: the path as given, or the file name of code passed directly. */
  target: string;
  /** The absolute directory file paths are relative to; null for code passed directly. */
  root: string | null;
  filesScanned: number;
  skipped: WalkResult['skipped'];
  limitReached: boolean;
  findings: Finding[];
  counts: Record<Severity, number>;
  /** Findings before the cap. */
  total: number;
  truncated: boolean;
  notes: string[];
  /** The notes the caller should be warned about: results incomplete (file limit, cap, audit or LLM failure). Also in notes. */
  warnings: string[];
}

export type Source = { path: string } | { code: string; filename: string };

async function sourcesOf(source: Source, limits: WalkLimits | undefined, signal?: AbortSignal): Promise<{ target: string; walked: WalkResult | null; files: SourceFile[] }> {
  if ('path' in source) {
    const walked = await walk(source.path, limits, signal);
    return { target: source.path, walked, files: walked.files };
  }
  const name = path.basename(source.filename) || 'stdin.ts';
  return { target: name, walked: null, files: [{ relative: name, absolute: name, text: source.code }] };
}

function reportOf(target: string, walked: WalkResult | null, fileCount: number, findings: Finding[], max: number, notes: string[], warnings: string[]): CodeReport {
  const capped = capFindings(findings, max);
  if (capped.truncated) warnings.push(`Showing ${max} of ${capped.total} findings, the most severe first.`);
  warnings.unshift(...(walked?.warnings ?? []));
  return {
    target,
    root: walked?.root ?? null,
    filesScanned: fileCount,
    skipped: walked?.skipped ?? { binary: 0, tooLarge: 0, generated: 0, unreadable: 0 },
    limitReached: walked?.limitReached ?? false,
    ...capped,
    notes: [...new Set([...(walked?.notes ?? []), ...notes, ...warnings])],
    warnings,
  };
}

export interface LlmReviewStatus {
  status: 'used' | 'failed' | 'not_configured' | 'off';
  model: string | null;
  filesReviewed: number;
  findings: number;
}

export interface ReviewReport extends CodeReport {
  llm: LlmReviewStatus;
}

export interface ReviewOptions {
  maxFindings: number;
  /** The model for the LLM review; undefined: static checks only. */
  llm?: Llm;
  /** Whether the LLM review was asked for (false: off). */
  useLlm: boolean;
  limits?: WalkLimits;
  signal?: AbortSignal;
}

/** The code review: static checks on every file, and, with a model, an LLM review added as separate findings. */
export async function reviewCode(source: Source, options: ReviewOptions): Promise<ReviewReport> {
  const { target, walked, files } = await sourcesOf(source, options.limits, options.signal);
  const analyses = files.map((f) => ({ file: f, ...analyzeSource(f.relative, f.text, 'review') }));
  const findings = analyses.flatMap((a) => a.findings);
  const notes: string[] = [];
  const warnings: string[] = [];
  const llm: LlmReviewStatus = { status: options.useLlm ? 'not_configured' : 'off', model: options.llm?.model ?? null, filesReviewed: 0, findings: 0 };
  if (options.useLlm && !options.llm) notes.push('LLM review skipped: no LLM is configured (llm.host); the findings are the static checks.');
  if (options.useLlm && options.llm && analyses.length) {
    const outcome = await llmReview(options.llm, analyses.map((a) => ({ relative: a.file.relative, text: a.file.text, secrets: a.secrets })), { signal: options.signal });
    findings.push(...outcome.findings);
    notes.push(...outcome.notes);
    if (outcome.failure) warnings.push(outcome.failure);
    Object.assign(llm, { status: outcome.failure ? 'failed' : 'used', filesReviewed: outcome.filesReviewed, findings: outcome.findings.length });
  }
  return { ...reportOf(target, walked, files.length, findings, options.maxFindings, notes, warnings), llm };
}

export interface ScanReport extends CodeReport {
  audit: Omit<AuditOutcome, 'findings'>;
}

export interface ScanOptions {
  audit: boolean;
  maxFindings: number;
  limits?: WalkLimits;
  signal?: AbortSignal;
  /** The npm executable (tests point it elsewhere). */
  npm?: string;
}

async function auditFor(walked: WalkResult, options: ScanOptions): Promise<AuditOutcome> {
  const skipped = (detail: string): AuditOutcome => ({ status: 'skipped', lockfile: null, vulnerabilities: 0, detail, findings: [] });
  if (!options.audit) return skipped('not requested');
  if (!walked.directory) return skipped('the target is a single file; scan its directory to audit dependencies');
  return auditDependencies(walked.absolute, walked.root, { signal: options.signal, npm: options.npm });
}

/** The security scan: secrets and dangerous calls in every file, and known vulnerable npm dependencies when a lockfile is there. */
export async function scanCode(target: string, options: ScanOptions): Promise<ScanReport> {
  const walked = await walk(target, options.limits, options.signal);
  const findings = walked.files.flatMap((f) => analyzeSource(f.relative, f.text, 'security').findings);
  const { findings: auditFindings, ...audit } = await auditFor(walked, options);
  const notes: string[] = [];
  const warnings: string[] = [];
  if (audit.status === 'skipped') notes.push(`npm audit skipped: ${audit.detail}.`);
  if (audit.status === 'unavailable') warnings.push(`Dependency audit unavailable: ${audit.detail}. Known vulnerable dependencies were NOT checked; the other findings are complete.`);
  return { ...reportOf(target, walked, walked.files.length, [...findings, ...auditFindings], options.maxFindings, notes, warnings), audit };
}
