import { z } from 'zod';
import { defineOp } from '../op.js';
import { kindOutput, targetInput } from './schemas.js';

export default defineOp({
  id: 'backup.create',
  mcpName: 'real-backup_create_backup',
  title: 'Create a backup',
  description:
    'Backs up twl\'s store (the embedded PGlite store through PGlite\'s pg_dump, or PostgreSQL through pg_dump in the custom format) or a database.targets database, ' +
    'with the configuration file, into a new directory under backup.dir: the dump, a sha256 per file, and a manifest with the row count of every table at dump time.',
  input: z.object({ target: targetInput }),
  output: z.object({
    id: z.string(),
    kind: kindOutput,
    target: z.string(),
    dir: z.string().describe('The backup\'s directory.'),
    createdAt: z.string(),
    files: z.array(z.object({ name: z.string(), role: z.enum(['dump', 'config']), size: z.number().int(), sha256: z.string() })),
    sizeBytes: z.number().int(),
    tables: z.record(z.string(), z.number().int()).describe('Rows per schema.table in the dumped snapshot.'),
    configCopied: z.boolean().describe('The configuration file was copied as is (it may hold secrets).'),
    durationMs: z.number(),
  }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  policy: { minRole: 'operator', needsApproval: false, timeoutMs: 60 * 60_000 },
  async run(ctx, { target }) {
    const { createBackup } = await import('../../agents/backup/service.js');
    return createBackup(ctx, target);
  },
});
