import { z } from 'zod';
import { defineOp } from '../op.js';
import { listedOutput, targetInput } from './schemas.js';

export default defineOp({
  id: 'backup.prune',
  mcpName: 'real-backup_prune_backups',
  title: 'Prune old backups',
  description:
    'Deletes the backups that retention does not keep, per target: a backup stays if it is among the newest keep_last or younger than keep_days days (defaults: backup.keepLast, backup.keepDays); ' +
    'the newest backup of each target always stays. dry_run lists what would go.',
  input: z.object({
    keep_last: z.number().int().min(1).optional().describe('Keep the newest N backups of each target (overrides backup.keepLast).'),
    keep_days: z.number().int().min(1).optional().describe('Keep backups younger than N days (overrides backup.keepDays).'),
    dry_run: z.boolean().default(false).describe('Only say what would be deleted.'),
    target: targetInput.describe('Only the backups of this target; default: every target, each on its own.'),
  }),
  output: z.object({
    dryRun: z.boolean(),
    keepLast: z.number().int().nullable(),
    keepDays: z.number().int().nullable(),
    kept: z.array(listedOutput),
    deleted: z.array(listedOutput).describe('Deleted (or, with dry_run, to be deleted).'),
    freedBytes: z.number().int(),
  }),
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
  policy: { minRole: 'manager', needsApproval: false, timeoutMs: 5 * 60_000 },
  async run(ctx, { keep_last, keep_days, dry_run, target }) {
    const { pruneBackups } = await import('../../agents/backup/service.js');
    return pruneBackups(ctx, { keepLast: keep_last, keepDays: keep_days, dryRun: dry_run, target });
  },
});
