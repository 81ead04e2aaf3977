import type { Finding, Severity } from './rules.js';

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** Findings as `file:line:column  severity  rule  message` lines, a blank line between files, for people. */
export function formatFindings(findings: Finding[]): string {
  const lines: string[] = [];
  let previous: string | undefined;
  for (const f of findings) {
    if (previous !== undefined && f.file !== previous) lines.push('');
    previous = f.file;
    lines.push(`${f.file}:${f.line}:${f.column}  ${f.severity.padEnd(7)}  ${f.rule}  ${f.message}`);
    if (f.snippet) lines.push(`    ${f.snippet}`);
  }
  return lines.join('\n');
}

/** `2 errors, 1 warning, 0 notes in 3 files` (with what the cap left out). */
export function formatSummary(r: { counts: Record<Severity, number>; total: number; findings: Finding[]; filesScanned: number; truncated: boolean }): string {
  const counts = `${plural(r.counts.error, 'error')}, ${plural(r.counts.warning, 'warning')}, ${plural(r.counts.note, 'note')}`;
  return `${counts} in ${plural(r.filesScanned, 'file')}${r.truncated ? ` (showing ${r.findings.length} of ${r.total})` : ''}.`;
}
