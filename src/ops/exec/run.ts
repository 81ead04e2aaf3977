import { z } from 'zod';
import { runCommand } from '../../agents/commander/run.js';
import { defineOp } from '../op.js';

export default defineOp({
  id: 'exec',
  mcpName: 'real-desktop-commander_execute_command',
  title: 'Run a command under the policy',
  description:
    'Runs a program with its arguments — never through a shell, so ;, &&, $(…), backticks and redirections are plain characters — when the commander policy in the configuration allows it ' +
    '(read-only diagnostics in read-only argument shapes by default; anything else asks for approval, or is denied). A bare program name is found only in the system directories. ' +
    'Timeout kills the whole process tree; output is capped; every decision, allowed or refused, is an audit row, written before the program starts.',
  input: z.object({
    command: z
      .union([z.array(z.string()).min(1, 'expected a program'), z.string().trim().min(1, 'expected a command')])
      .describe('The program and its arguments, as a list (best) or a string split on spaces (quotes group words; no shell expansion).'),
    cwd: z.string().optional().describe('Working directory, within commander.cwd.'),
    timeout_ms: z.number().int().min(1).max(3_600_000).optional().describe('At most commander.timeout.'),
    dry_run: z.boolean().default(false).describe('Only say what the policy decides; run nothing.'),
    ticket_id: z.number().int().positive().optional().describe('The ticket this serves, for the audit log.'),
  }),
  output: z.object({
    program: z.string(),
    args: z.array(z.string()),
    resolved: z.string().nullable().describe('The file that runs (absolute).'),
    cwd: z.string(),
    decision: z.enum(['allow', 'ask', 'deny']),
    rule: z.string(),
    reason: z.string(),
    approved: z.boolean().nullable(),
    outcome: z.enum(['ran', 'refused', 'dry-run', 'failed', 'timeout', 'cancelled']),
    exitCode: z.number().int().nullable(),
    durationMs: z.number(),
    stdout: z.string(),
    stderr: z.string(),
    truncated: z.boolean().describe('Output went past commander.maxOutput and was cut.'),
    auditId: z.number().int(),
  }),
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
  policy: { minRole: 'operator', needsApproval: false, timeoutMs: 3_700_000 },
  async run(ctx, input) {
    const { parseCommandString } = await import('execa');
    const argv = typeof input.command === 'string' ? parseCommandString(input.command) : input.command;
    return runCommand(ctx, { argv, cwd: input.cwd, timeoutMs: input.timeout_ms, dryRun: input.dry_run, ticketId: input.ticket_id });
  },
});
