import { messageOf } from '../../runtime/errors.js';
import type { Llm } from '../../runtime/llm.js';
import { severities, snippetOf, type Finding, type Severity } from './rules.js';
import { maskSecrets } from './secrets.js';

export interface LlmReviewLimits {
  /** Files larger than this are not sent. */
  maxFileBytes: number;
  /** Files sent at most, in all. */
  maxFiles: number;
  /** Findings kept per file. */
  maxFindingsPerFile: number;
}

export const defaultLlmLimits: LlmReviewLimits = { maxFileBytes: 16 * 1024, maxFiles: 8, maxFindingsPerFile: 10 };

export interface LlmFile {
  relative: string;
  text: string;
  /** Secrets found in the file: masked before the code leaves the machine. */
  secrets: string[];
}

export interface LlmReviewOutcome {
  findings: Finding[];
  filesReviewed: number;
  /** What went wrong or was left out, for the notes. */
  notes: string[];
  /** Set when the model failed: the review stopped there. */
  failure: string | null;
}

const prompt = (file: string, numbered: string) => `You are reviewing source code for bugs, security problems and maintainability.
Report only real, specific problems, each on one line of the file. Answer with JSON only:
{"findings": [{"line": <line number>, "severity": "error" | "warning" | "note", "message": "<one sentence>"}]}
Answer {"findings": []} when nothing is worth reporting.

File: ${file}
${numbered}`;

const numberLines = (text: string) =>
  text
    .split(/\r?\n/)
    .map((line, i) => `${i + 1}| ${line}`)
    .join('\n');

/** The well-formed findings of one answer: an integer line inside the file, a known severity, a non-empty message. */
export function acceptLlmFindings(answer: unknown, file: string, lines: string[], secrets: string[], max: number): { findings: Finding[]; rejected: number } {
  const raw = (answer as { findings?: unknown } | null)?.findings;
  if (!Array.isArray(raw)) return { findings: [], rejected: 1 };
  const findings: Finding[] = [];
  let rejected = 0;
  for (const item of raw) {
    const { line, severity, message } = (item ?? {}) as { line?: unknown; severity?: unknown; message?: unknown };
    const valid = Number.isInteger(line) && (line as number) >= 1 && (line as number) <= lines.length && severities.includes(severity as Severity) && typeof message === 'string' && message.trim().length > 0;
    if (!valid || findings.length >= max) {
      rejected += valid ? 0 : 1;
      continue;
    }
    const snippet = snippetOf(lines, line as number);
    findings.push({
      file,
      line: line as number,
      column: 1,
      rule: 'llm/review',
      severity: severity as Severity,
      message: maskSecrets(message.trim().replace(/\s+/g, ' ').slice(0, 500), secrets),
      snippet: snippet && maskSecrets(snippet, secrets),
      source: 'llm',
    });
  }
  return { findings, rejected };
}

/**
 * Asks the model to review each small file (secrets masked first) and keeps only
 * well-formed findings. The first failure stops the review: the static findings stand, and
 * the failure is reported.
 */
export async function llmReview(llm: Llm, files: LlmFile[], options: { signal?: AbortSignal; limits?: LlmReviewLimits } = {}): Promise<LlmReviewOutcome> {
  const limits = options.limits ?? defaultLlmLimits;
  const small = files.filter((f) => Buffer.byteLength(f.text) <= limits.maxFileBytes && f.text.trim());
  const chosen = small.slice(0, limits.maxFiles);
  const outcome: LlmReviewOutcome = { findings: [], filesReviewed: 0, notes: [], failure: null };
  if (files.length > chosen.length) outcome.notes.push(`The LLM reviewed ${chosen.length} of ${files.length} files (at most ${limits.maxFiles}, each under ${Math.round(limits.maxFileBytes / 1024)} kB).`);
  let rejected = 0;
  for (const file of chosen) {
    const masked = maskSecrets(file.text, file.secrets);
    let answer: unknown;
    try {
      const res = await llm.chat([{ role: 'user', content: prompt(file.relative, numberLines(masked)) }], { format: 'json', signal: options.signal });
      answer = JSON.parse(res.message.content);
    } catch (err) {
      outcome.failure = `LLM review stopped at ${file.relative} (${messageOf(err)}); the static findings are complete.`;
      break;
    }
    const accepted = acceptLlmFindings(answer, file.relative, masked.split(/\r?\n/), file.secrets, limits.maxFindingsPerFile);
    outcome.findings.push(...accepted.findings);
    rejected += accepted.rejected;
    outcome.filesReviewed++;
  }
  if (rejected) outcome.notes.push(`Dropped ${rejected} malformed LLM finding${rejected === 1 ? '' : 's'} (no valid line, severity or message).`);
  return outcome;
}
