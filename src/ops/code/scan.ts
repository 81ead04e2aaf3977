import { z } from 'zod';
import { auditStatuses } from '../../agents/code-review/audit.js';
import { defineOp } from '../op.js';
import { pathInput, reportOutput } from './schemas.js';

/** Findings kept at most; the scan has no cap of its own in its input. */
const maxFindings = 5000;

export default defineOp({
  id: 'code.scan',
  mcpName: 'code-review_security_scan',
  title: 'Scan code for security problems',
  description:
    'Security scan of a file or a directory: hard-coded secrets (AWS, GitHub and Slack tokens, private keys, credential assignments, high-entropy strings; always masked in the output), ' +
    'dangerous calls (eval, new Function, shell commands built from interpolated input, SQL built by concatenation, innerHTML) and, when the directory has a package-lock.json or npm-shrinkwrap.json, ' +
    'known vulnerable dependencies through `npm audit` (which asks the npm registry; when it cannot, the notes say so and the other findings stand). format "sarif" adds a SARIF 2.1.0 log for code-scanning tools.',
  input: z.object({
    path: pathInput.describe('A file or directory to scan.'),
    audit: z.boolean().default(true).describe('Run npm audit when a lockfile is there.'),
    format: z.enum(['json', 'sarif']).default('json').describe('sarif: also return the findings as a SARIF 2.1.0 log.'),
  }),
  output: z.object({
    ...reportOutput,
    audit: z.object({
      status: z.enum(auditStatuses).describe('ran: npm answered; skipped: not asked or no lockfile; unavailable: npm or the registry failed (dependencies NOT checked).'),
      lockfile: z.string().nullable(),
      vulnerabilities: z.number().int(),
      detail: z.string().nullable(),
    }),
    format: z.enum(['json', 'sarif']),
    sarif: z
      .looseObject({ $schema: z.string(), version: z.literal('2.1.0'), runs: z.array(z.looseObject({})) })
      .nullable()
      .describe('The SARIF 2.1.0 log when format is sarif; null otherwise.'),
  }),
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  policy: { minRole: 'operator', needsApproval: false, timeoutMs: 300_000 },
  async run(ctx, { path, audit, format }) {
    const { scanCode } = await import('../../agents/code-review/analyze.js');
    const { warnings, ...report } = await scanCode(path, { audit, maxFindings, signal: ctx.signal });
    warnings.forEach((w) => ctx.warn(w));
    let sarif = null;
    if (format === 'sarif') {
      const { toSarif, twlToolInfo } = await import('../../agents/code-review/sarif.js');
      sarif = toSarif(report.findings, twlToolInfo());
    }
    return { ...report, format, sarif };
  },
});
