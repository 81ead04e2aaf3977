import { z } from 'zod';
import { defineOp, readOnly } from '../op.js';
import { listedOutput, targetInput } from './schemas.js';

export default defineOp({
  id: 'backup.list',
  mcpName: 'real-backup_list_backups',
  title: 'List backups',
  description: 'Lists the backups under backup.dir, newest first, with their kind, target, size, creation time and last verification. Without target: the backups of every target.',
  input: z.object({ target: targetInput.describe('Only the backups of this target ("store" for twl\'s own store); default: all.') }),
  output: z.object({ dir: z.string(), backups: z.array(listedOutput) }),
  annotations: readOnly,
  policy: { minRole: 'viewer', needsApproval: false, timeoutMs: 30_000 },
  async run(ctx, { target }) {
    const { listAll } = await import('../../agents/backup/service.js');
    return listAll(ctx, target);
  },
});
