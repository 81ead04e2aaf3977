import { snippetOf, type Finding } from './rules.js';

export interface TextThresholds {
  /** Characters above which a line is reported. */
  lineLength: number;
  /** Long lines reported one by one per file; the rest are summed up in one finding. */
  longLinesPerFile: number;
}

export const defaultTextThresholds: TextThresholds = { lineLength: 200, longLinesPerFile: 5 };

const todoWord = /(?:^|[^A-Za-z0-9_])(TODO|FIXME|XXX|HACK)\b[:\s(]?(.*)/;
/** Files where tabs are the rule, not a style slip. */
const tabFiles = /(?:^|\/)(?:Makefile|GNUmakefile|[^/]*\.mk|[^/]*\.go|[^/]*\.tsv)$/i;

/** Checks for any text file: TODO/FIXME markers, very long lines, trailing whitespace and mixed indentation (notes). */
export function analyzeText(file: string, text: string, thresholds: TextThresholds = defaultTextThresholds): Finding[] {
  const lines = text.split(/\r?\n/);
  const findings: Finding[] = [];
  const add = (line: number, column: number, rule: string, severity: Finding['severity'], message: string) =>
    findings.push({ file, line, column, rule, severity, message, snippet: snippetOf(lines, line), source: 'static' });
  lines.forEach((line, i) => {
    const m = todoWord.exec(line);
    if (m) {
      const detail = m[2]!.replace(/\s*(?:\*\/|-->)\s*$/, '').trim();
      const message = detail ? `${m[1]}: ${detail.slice(0, 160)}` : m[1]!;
      add(i + 1, m.index + m[0].indexOf(m[1]!) + 1, m[1] === 'TODO' ? 'comment/todo' : 'comment/fixme', m[1] === 'TODO' ? 'note' : 'warning', message);
    }
  });
  findings.push(...longLines(file, lines, thresholds), ...whitespace(file, lines));
  return findings;
}

function longLines(file: string, lines: string[], thresholds: TextThresholds): Finding[] {
  const long = lines.flatMap((line, i) => (line.length > thresholds.lineLength ? [{ line: i + 1, length: line.length }] : []));
  const shown = long.slice(0, thresholds.longLinesPerFile);
  const findings: Finding[] = shown.map((l) => ({
    file,
    line: l.line,
    column: thresholds.lineLength + 1,
    rule: 'text/long-line',
    severity: 'note',
    message: `Line is ${l.length} characters long (more than ${thresholds.lineLength}).`,
    snippet: snippetOf(lines, l.line),
    source: 'static',
  }));
  const rest = long.length - shown.length;
  if (rest > 0) findings.at(-1)!.message += ` ${rest} more line${rest === 1 ? ' is' : 's are'} longer than ${thresholds.lineLength} characters in this file.`;
  return findings;
}

/** One note per file for trailing whitespace and one for mixed indentation, at the first line concerned. */
function whitespace(file: string, lines: string[]): Finding[] {
  const findings: Finding[] = [];
  const trailing = lines.flatMap((line, i) => (/[ \t]+$/.test(line) ? [i + 1] : []));
  if (trailing.length) {
    findings.push({ file, line: trailing[0]!, column: lines[trailing[0]! - 1]!.trimEnd().length + 1, rule: 'text/trailing-whitespace', severity: 'note', message: `${trailing.length} line${trailing.length === 1 ? ' ends' : 's end'} in whitespace (first here).`, snippet: null, source: 'static' });
  }
  if (tabFiles.test(file)) return findings;
  const tabbed = lines.findIndex((line) => /^\t/.test(line));
  const spaced = lines.some((line) => /^ {2,}\S/.test(line));
  if (tabbed >= 0 && spaced) {
    findings.push({ file, line: tabbed + 1, column: 1, rule: 'text/mixed-indentation', severity: 'note', message: 'This file indents with both tabs and spaces (first tab here).', snippet: null, source: 'static' });
  }
  return findings;
}
