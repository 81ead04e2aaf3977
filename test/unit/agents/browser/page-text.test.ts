import { describe, expect, it } from 'vitest';
import { pageText } from '../../../../src/agents/browser/browse.js';

describe('the readable text of a page', () => {
  it('keeps the <h1> and puts each paragraph on its own line', async () => {
    const html =
      '<html><head><title>Shop</title></head><body><article><h1>Shop status</h1><p>status: ok</p><p>Welcome to the test shop.</p>' +
      '<p>All systems are operational and the checkout answers normally today.</p><ul><li>orders</li><li>payments</li></ul></article></body></html>';
    const { title, text } = await pageText(html, 'http://127.0.0.1/');
    expect(title).toBe('Shop');
    expect(text).toBe('Shop status\nstatus: ok\nWelcome to the test shop.\nAll systems are operational and the checkout answers normally today.\norders\npayments');
  });

  it('separates blocks of a page that is not an article, and keeps inline text together', async () => {
    const { text } = await pageText('<body><div>status: <b>ok</b></div><div>Welcome<br>to the shop</div><script>var x = 1</script></body>', 'http://127.0.0.1/');
    expect(text).toBe('status: ok\nWelcome\nto the shop');
  });

  it('does not repeat a heading already at the top of the text', async () => {
    const html = `<html><head><title>Incident 42</title></head><body><main><h1>Incident 42</h1>${'<p>The database failed over at noon and the replica took over without data loss.</p>'.repeat(5)}</main></body></html>`;
    const { text } = await pageText(html, 'http://127.0.0.1/');
    expect(text!.match(/Incident 42/g)).toHaveLength(1);
    expect(text!.split('\n')).toHaveLength(6);
  });
});
