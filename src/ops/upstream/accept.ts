import { z } from 'zod';
import { TwlError } from '../../runtime/errors.js';
import { upstreamNamePattern } from '../../upstream/config.js';
import { defineOp } from '../op.js';

const names = z.array(z.string());

/**
 * Lifts an upstream's quarantine: the tool definitions it declares now (recorded when they were
 * found to differ from the pinned ones) become its pin. A running `twl serve` notices within
 * seconds and lists its tools again.
 */
export default defineOp({
  id: 'upstream.accept',
  mcpName: 'upstream_accept',
  title: 'Accept an upstream\'s changed tools',
  description:
    'An upstream whose tool definitions (names, descriptions, schemas, annotations) changed since they were first seen is quarantined: its tools are not listed and calls are refused. ' +
    'Review the change (`twl upstream status NAME` shows the tools added, removed and changed), then accept it: the current definitions are pinned and its tools come back, in a running `twl serve` too.',
  input: z.object({ name: z.string().regex(upstreamNamePattern, 'expected an upstream name (lowercase letters, digits and -)').describe('The quarantined upstream.') }),
  output: z.object({
    name: z.string(),
    pinnedAt: z.string(),
    pinnedBy: z.string(),
    tools: z.number().int(),
    accepted: z.object({ added: names, removed: names, changed: names }),
  }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  policy: { minRole: 'admin', needsApproval: false, timeoutMs: 30_000 },
  async run(ctx, { name }) {
    const { configuredUpstreams } = await import('../../tools/upstreams.js');
    const configured = await configuredUpstreams(ctx.runtime, (m) => ctx.warn(m));
    if (!configured.some((u) => u.entry.name === name)) {
      throw new TwlError('TWL_UPSTREAM_UNKNOWN', `No upstream named ${name}.${configured.length ? ` Configured: ${configured.map((u) => u.entry.name).join(', ')}.` : ''}`);
    }
    const { acceptPin } = await import('../../tools/pins.js');
    const { quarantine: _, ...state } = await acceptPin(await ctx.store(), name, ctx.actor);
    ctx.logger.info({ upstream: name, accepted: state.accepted }, 'upstream tool definitions accepted');
    return state;
  },
});
