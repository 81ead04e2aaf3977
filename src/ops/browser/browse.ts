import path from 'node:path';
import { z } from 'zod';
import { localPath } from '../schemas.js';
import { browse } from '../../agents/browser/browse.js';
import { defineOp } from '../op.js';

export default defineOp({
  id: 'browse',
  mcpName: 'browser_browse',
  title: 'Browse a URL',
  description:
    'GETs a URL within the browser policy (browser.allow / browser.deny hosts, size and time limits), following redirects (each hop checked): status, redirect chain, timings (DNS, connect, TLS, first byte, total), ' +
    'TLS certificate issuer and expiry, headers, and the readable text of HTML pages; with a configured Chromium, a PNG screenshot too.',
  input: z.object({
    url: z.string().min(1).describe('http:// or https:// URL.'),
    text: z.boolean().default(true).describe('Extract the readable text.'),
    screenshot: localPath().optional().describe('Save a PNG of the page to this path (needs browser.chromium).'),
  }),
  output: z.object({
    url: z.string(),
    finalUrl: z.string(),
    status: z.number().int(),
    statusText: z.string(),
    redirects: z.array(z.object({ url: z.string(), status: z.number().int(), location: z.string().nullable() })),
    timings: z.object({ dnsMs: z.number().nullable(), connectMs: z.number().nullable(), tlsMs: z.number().nullable(), firstByteMs: z.number().nullable(), totalMs: z.number() }),
    tls: z.object({ subject: z.string(), issuer: z.string(), validFrom: z.string(), validTo: z.string(), daysLeft: z.number().int(), protocol: z.string().nullable() }).nullable(),
    headers: z.record(z.string(), z.string()),
    contentType: z.string().nullable(),
    sizeBytes: z.number().int(),
    truncated: z.boolean(),
    title: z.string().nullable(),
    text: z.string().nullable(),
    screenshot: z.object({ file: z.string(), width: z.number().int(), height: z.number().int() }).nullable(),
  }),
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  policy: { minRole: 'viewer', needsApproval: false, timeoutMs: 120_000 },
  async run(ctx, { url, text, screenshot: file }) {
    const result = await browse(ctx.config.browser, url, ctx.signal, text);
    if (!file) return { ...result, screenshot: null };
    const { screenshot } = await import('../../agents/browser/screenshot.js');
    // The screenshot loads the final URL, which the policy has just allowed.
    return { ...result, screenshot: await screenshot(ctx.config.browser.chromium, result.finalUrl, path.resolve(file), ctx.config.browser.timeout) };
  },
});
