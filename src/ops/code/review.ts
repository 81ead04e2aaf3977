import { z } from 'zod';
import { localPath } from '../schemas.js';
import { defineOp } from '../op.js';
import { pathInput, reportOutput } from './schemas.js';

export default defineOp({
  id: 'code.review',
  mcpName: 'code-review_analyze_code',
  title: 'Review code',
  description:
    'Static review of a file or a directory (or of code passed directly): for TypeScript and JavaScript, through the TypeScript compiler, functions with a high cyclomatic complexity, very long functions, unreachable code, TODO/FIXME comments, ' +
    'risky patterns (eval, new Function, shell commands and SQL built from interpolated values, innerHTML, casts to any) and hard-coded secrets (masked); for other text files, TODO/FIXME, very long lines and whitespace notes. ' +
    'Skips node_modules, .git, dist, build, coverage, binaries and files over 1 MiB. With an LLM configured (Ollama), small files also get an LLM review, added as separate llm/review findings.',
  input: z
    .object({
      path: pathInput.optional().describe('A file or directory to review.'),
      code: z.string().max(1_048_576).optional().describe('Source code to review instead of a path.'),
      filename: localPath().min(1).max(255).default('stdin.ts').describe('With code: its file name, which sets the language (.ts, .js, .tsx, .py, …).'),
      max_findings: z.number().int().min(1).max(10_000).default(500).describe('Return at most this many findings, the most severe first (truncated says when more exist).'),
      llm: z.boolean().default(true).describe('Add an LLM review when an LLM is configured.'),
    })
    .refine((v) => (v.path === undefined) !== (v.code === undefined), 'expected exactly one of path and code'),
  output: z.object({
    ...reportOutput,
    llm: z.object({
      status: z.enum(['used', 'failed', 'not_configured', 'off']),
      model: z.string().nullable(),
      filesReviewed: z.number().int(),
      findings: z.number().int(),
    }),
  }),
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  policy: { minRole: 'viewer', needsApproval: false, timeoutMs: 600_000 },
  async run(ctx, { path, code, filename, max_findings, llm }) {
    const { reviewCode } = await import('../../agents/code-review/analyze.js');
    const source = path !== undefined ? { path } : { code: code!, filename };
    const { warnings, ...report } = await reviewCode(source, { maxFindings: max_findings, useLlm: llm, llm: llm ? ctx.llm() : undefined, signal: ctx.signal });
    warnings.forEach((w) => ctx.warn(w));
    return report;
  },
});
