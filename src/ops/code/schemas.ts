import { z } from 'zod';
import { localPath } from '../schemas.js';
import { findingSources, severities } from '../../agents/code-review/rules.js';

export const findingOutput = z.object({
  file: z.string().describe('Relative to root, with forward slashes.'),
  line: z.number().int().min(1),
  column: z.number().int().min(1),
  rule: z.string().describe('A stable rule id: ts/unreachable-code, secret/aws-access-key, dangerous/shell-exec-interpolation, llm/review, ….'),
  severity: z.enum(severities),
  message: z.string(),
  snippet: z.string().nullable().describe('The source line; secrets in it are masked.'),
  source: z.enum(findingSources).describe('static: twl\'s own checks; llm: the LLM review; npm-audit: npm\'s advisory database.'),
});

/** What the review and the scan share: where, what was read, the findings and what to know about them. */
export const reportOutput = {
  target: z.string(),
  root: z.string().nullable().describe('The directory file paths are relative to; null for code passed directly.'),
  filesScanned: z.number().int(),
  skipped: z.object({ binary: z.number().int(), tooLarge: z.number().int(), generated: z.number().int(), unreadable: z.number().int() }),
  limitReached: z.boolean().describe('The file limit stopped the walk: not every file was read.'),
  findings: z.array(findingOutput),
  counts: z.object({ error: z.number().int(), warning: z.number().int(), note: z.number().int() }).describe('Findings by severity, before the cap.'),
  total: z.number().int().describe('Findings before the cap.'),
  truncated: z.boolean(),
  notes: z.array(z.string()).describe('What was skipped or unavailable, and why.'),
};

export const pathInput = localPath().min(1, 'expected a file or directory path').max(4096);
