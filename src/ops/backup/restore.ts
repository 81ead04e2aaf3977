import { z } from 'zod';
import { defineOp } from '../op.js';
import { countCheckOutput, idInput, kindOutput, targetInput } from './schemas.js';

export default defineOp({
  id: 'backup.restore',
  mcpName: 'real-backup_restore_backup',
  title: 'Restore a backup',
  description:
    'Replaces a database with a backup of it, after checking the backup\'s checksums. PostgreSQL: pg_restore --clean --if-exists in one transaction. ' +
    'The embedded store: only while no other process holds it (twl\'s own background host hands it over when asked); a new data directory is built from the dump, checked, and swapped in (the old one kept until then, or after with keep_previous). Needs approval.',
  input: z.object({
    id: idInput,
    target: targetInput.describe('With id "latest": the newest backup of this target; default: of twl\'s own store.'),
    keep_previous: z.boolean().default(false).describe('Embedded store: keep the replaced data directory as a timestamped sibling.'),
  }),
  output: z.object({
    id: z.string(),
    kind: kindOutput,
    target: z.string(),
    into: z.string().describe('The data directory, or the connection URL without its password.'),
    tables: z.array(countCheckOutput),
    previous: z.string().nullable().describe('Where the replaced data directory is kept (keep_previous).'),
    durationMs: z.number(),
  }),
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
  policy: { minRole: 'admin', needsApproval: true, timeoutMs: 60 * 60_000 },
  async run(ctx, { id, target, keep_previous }) {
    const { restoreBackup } = await import('../../agents/backup/service.js');
    return restoreBackup(ctx, id, id === 'latest' ? (target ?? 'store') : target, keep_previous);
  },
});
