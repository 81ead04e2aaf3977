import { z } from 'zod';
import { defineOp } from '../op.js';
import { countCheckOutput, idInput, kindOutput, targetInput } from './schemas.js';

export default defineOp({
  id: 'backup.verify',
  mcpName: 'real-backup_verify_backup',
  title: 'Verify a backup',
  description:
    'Checks the sha256 of every file of a backup (a mismatch fails with TWL_BACKUP_CORRUPT naming the file), then restores the dump into a scratch database ' +
    '(an in-memory PGlite, or a twl_verify_* database on the PostgreSQL server, dropped afterwards) and compares every table\'s row count with the manifest. The outcome is recorded in the manifest.',
  input: z.object({
    id: idInput.default('latest'),
    target: targetInput.describe('With id "latest": the newest backup of this target; default: of twl\'s own store.'),
  }),
  output: z.object({
    id: z.string(),
    kind: kindOutput,
    target: z.string(),
    checksums: z.array(z.object({ file: z.string(), ok: z.boolean() })),
    tables: z.array(countCheckOutput),
    restoredInto: z.string(),
    verifiedAt: z.string(),
    durationMs: z.number(),
  }),
  // It writes only its verdict into the backup's manifest, and scratch databases it drops.
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  policy: { minRole: 'operator', needsApproval: false, timeoutMs: 60 * 60_000 },
  async run(ctx, { id, target }) {
    const { verifyBackup } = await import('../../agents/backup/service.js');
    return verifyBackup(ctx, id, id === 'latest' ? (target ?? 'store') : target);
  },
});
