export const severities = ['error', 'warning', 'note'] as const;
export type Severity = (typeof severities)[number];

export const findingSources = ['static', 'llm', 'npm-audit'] as const;
export type FindingSource = (typeof findingSources)[number];

/** One problem at one place. `file` is relative to the scan root, with forward slashes; line and column start at 1. */
export interface Finding {
  file: string;
  line: number;
  column: number;
  rule: string;
  severity: Severity;
  message: string;
  /** The source line, trimmed and shortened; secrets in it are masked. */
  snippet: string | null;
  source: FindingSource;
}

/** Quality checks belong to the review; security checks to both the review and the scan. */
export type RuleCategory = 'quality' | 'security';

export interface Rule {
  id: string;
  category: RuleCategory;
  severity: Severity;
  description: string;
}

const rule = (id: string, category: RuleCategory, severity: Severity, description: string): Rule => ({ id, category, severity, description });

/** Every rule twl reports, by stable id (the SARIF rule ids). A finding may carry a higher or lower severity than the default. */
export const rules: Record<string, Rule> = Object.fromEntries(
  [
    rule('ts/complexity', 'quality', 'warning', 'Function with a high cyclomatic complexity.'),
    rule('ts/long-function', 'quality', 'warning', 'Very long function.'),
    rule('ts/unreachable-code', 'quality', 'warning', 'Code after return, throw, break or continue never runs.'),
    rule('ts/any-cast', 'quality', 'note', 'Cast to `any` turns type checking off.'),
    rule('comment/todo', 'quality', 'note', 'TODO comment.'),
    rule('comment/fixme', 'quality', 'warning', 'FIXME, XXX or HACK comment.'),
    rule('text/long-line', 'quality', 'note', 'Very long line.'),
    rule('text/trailing-whitespace', 'quality', 'note', 'Lines ending in whitespace.'),
    rule('text/mixed-indentation', 'quality', 'note', 'Both tabs and spaces used for indentation.'),
    rule('dangerous/eval', 'security', 'error', 'eval() runs a string as code.'),
    rule('dangerous/new-function', 'security', 'warning', 'new Function() builds code from strings.'),
    rule('dangerous/shell-exec-interpolation', 'security', 'error', 'Shell command built from interpolated input (command injection).'),
    rule('dangerous/sql-concatenation', 'security', 'warning', 'SQL built by concatenation or interpolation (SQL injection); use bind parameters.'),
    rule('dangerous/inner-html', 'security', 'warning', 'HTML assigned from a non-literal value (cross-site scripting).'),
    rule('secret/aws-access-key', 'security', 'error', 'AWS access key id.'),
    rule('secret/aws-secret-key', 'security', 'error', 'AWS secret access key.'),
    rule('secret/github-token', 'security', 'error', 'GitHub token.'),
    rule('secret/slack-token', 'security', 'error', 'Slack token.'),
    rule('secret/private-key', 'security', 'error', 'Private key block.'),
    rule('secret/hardcoded-credential', 'security', 'warning', 'Password, secret, token or API key assigned a literal value.'),
    rule('secret/high-entropy-string', 'security', 'warning', 'Random-looking string literal that may be a secret.'),
    rule('dependency/npm-audit', 'security', 'warning', 'Dependency with a known vulnerability (npm audit).'),
    rule('llm/review', 'quality', 'note', 'Remark from the LLM review.'),
  ].map((r) => [r.id, r]),
);

export const isSecurityRule = (id: string): boolean => rules[id]?.category === 'security';

export function countBySeverity(findings: Finding[]): Record<Severity, number> {
  const counts: Record<Severity, number> = { error: 0, warning: 0, note: 0 };
  for (const f of findings) counts[f.severity]++;
  return counts;
}

const severityRank: Record<Severity, number> = { error: 0, warning: 1, note: 2 };

/** By file, then line and column, then the more severe first. */
export const compareFindings = (a: Finding, b: Finding): number =>
  a.file.localeCompare(b.file) || a.line - b.line || a.column - b.column || severityRank[a.severity] - severityRank[b.severity] || a.rule.localeCompare(b.rule);

/** A source line for a finding: trimmed and at most 200 characters. */
export function snippetOf(lines: string[], line: number): string | null {
  const text = lines[line - 1]?.trim();
  if (!text) return null;
  return text.length > 200 ? `${text.slice(0, 199)}…` : text;
}
