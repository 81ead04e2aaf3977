import { z } from 'zod';
import { Docker } from '../../agents/monitoring/docker.js';
import { durationHint, parseDuration } from '../../runtime/duration.js';
import { linearRegExp } from '../../runtime/linear-regexp.js';
import { TwlError } from '../../runtime/errors.js';
import { defineOp, readOnly } from '../op.js';

export default defineOp({
  id: 'monitoring.logs',
  mcpName: 'monitoring_get_container_logs',
  title: 'Container logs',
  description: 'The last lines of a container\'s logs (stdout and stderr, with timestamps), optionally since a time and filtered by a regular expression.',
  input: z.object({
    container: z.string().min(1).describe('Name or id.'),
    tail: z.number().int().min(1).max(10_000).default(100),
    since: z.string().optional().describe(`Only lines newer than this long ago (${durationHint}).`),
    grep: z.string().max(500).optional().describe('Only lines matching this regular expression (case-insensitive; RE2 syntax, matched in linear time: no backreferences or lookaround).'),
  }),
  output: z.object({ container: z.string(), lines: z.array(z.object({ stream: z.enum(['stdout', 'stderr']), line: z.string() })), matched: z.number().int() }),
  annotations: { ...readOnly, openWorldHint: true },
  policy: { minRole: 'viewer', needsApproval: false, timeoutMs: 30_000 },
  async run(ctx, { container, tail, since, grep }) {
    let sinceUnix: number | undefined;
    if (since !== undefined) {
      const ms = parseDuration(since);
      if (ms === undefined) throw new TwlError('TWL_INPUT_INVALID', `since "${since}" is not a duration: expected ${durationHint}.`);
      sinceUnix = Math.floor((Date.now() - ms) / 1000);
    }
    // The caller's pattern (a viewer's, over HTTP) runs on RE2: linear in each line, whatever the pattern.
    const pattern = grep ? linearRegExp(grep, 'i', 'grep') : undefined;
    const lines = await new Docker(ctx.config.docker.socket).logs(container, { tail, since: sinceUnix });
    const kept = pattern ? lines.filter((l) => pattern.test(l.line)) : lines;
    return { container, lines: kept, matched: kept.length };
  },
});
