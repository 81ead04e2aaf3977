import { Args, Flags } from '@oclif/core';
import { OpCommand } from '../src/cli/base.js';
import { bytes } from '../src/cli/render.js';
import op from '../src/ops/browser/browse.js';
import type { OutputOf } from '../src/ops/op.js';

export default class Browse extends OpCommand<typeof op> {
  static override op = op;
  static override summary = 'Fetch a URL: status, timings, TLS, redirects and readable text.';
  static override description = `${op.description}\nExit code 0 for a 2xx/3xx answer, 1 otherwise.`;
  static override examples = ['<%= config.bin %> <%= command.id %> https://status.example.com', '<%= config.bin %> <%= command.id %> http://127.0.0.1:8080/health --no-text --json', '<%= config.bin %> <%= command.id %> https://shop.example.com --screenshot shop.png'];
  static override args = { url: Args.string({ description: 'The URL.', required: true }) };
  static override flags = {
    text: Flags.boolean({ description: 'Extract the readable text.', default: true, allowNo: true }),
    screenshot: Flags.string({ description: 'Save a PNG of the page to this file (needs browser.chromium).' }),
  };

  protected async input() {
    const { args, flags } = await this.parse(Browse);
    return { url: args.url, text: flags.text, screenshot: flags.screenshot };
  }

  override async run(): Promise<OutputOf<typeof op>> {
    const r = await super.run();
    if (r.status >= 400) process.exitCode = 1;
    return r;
  }

  protected render(r: OutputOf<typeof op>): void {
    for (const h of r.redirects) this.log(`${h.status} ${h.url} → ${h.location}`);
    this.log(`${r.status} ${r.statusText} ${r.finalUrl} (${bytes(r.sizeBytes)}${r.truncated ? ', truncated' : ''}, ${r.contentType ?? 'no content type'})`);
    const t = r.timings;
    this.log(`timings: dns ${t.dnsMs ?? '—'} ms, connect ${t.connectMs ?? '—'} ms, tls ${t.tlsMs ?? '—'} ms, first byte ${t.firstByteMs ?? '—'} ms, total ${t.totalMs} ms`);
    if (r.tls) this.log(`tls: ${r.tls.protocol} — ${r.tls.subject} by ${r.tls.issuer}, expires ${r.tls.validTo.slice(0, 10)} (${r.tls.daysLeft} days)`);
    if (r.screenshot) this.log(`screenshot: ${r.screenshot.file} (${r.screenshot.width}×${r.screenshot.height})`);
    if (r.title) this.log(`\n${r.title}`);
    if (r.text) this.log(`\n${r.text.slice(0, 2000)}${r.text.length > 2000 ? '\n…' : ''}`);
  }
}
