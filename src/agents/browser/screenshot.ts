import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { TwlError, messageOf } from '../../runtime/errors.js';

/**
 * A PNG of the page, taken by the system Chromium driven headless through playwright-core.
 * Chromium runs without network services of its own (no background networking, sync or
 * component updates): only the page's own requests leave it.
 */
export async function screenshot(chromium: string | undefined, url: string, file: string, timeoutMs: number): Promise<{ file: string; width: number; height: number }> {
  if (!chromium) throw new TwlError('TWL_TOOL_MISSING', 'No Chromium is configured for screenshots.', { actions: ['Install Chromium (e.g. apt-get install chromium) and set browser.chromium to its path.'] });
  if (!existsSync(chromium)) throw new TwlError('TWL_TOOL_MISSING', `browser.chromium points to ${chromium}, which does not exist.`, { actions: ['Install Chromium or fix browser.chromium.'] });
  const { chromium: driver } = await import('playwright-core');
  const browser = await driver.launch({
    executablePath: chromium,
    headless: true,
    timeout: timeoutMs,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(url, { timeout: timeoutMs, waitUntil: 'load' });
    mkdirSync(path.dirname(file), { recursive: true });
    await page.screenshot({ path: file, fullPage: false });
    return { file, width: 1280, height: 800 };
  } catch (err) {
    throw new TwlError('TWL_BROWSE_FAILED', `Chromium could not take a screenshot of ${url}: ${messageOf(err)}`, { cause: err });
  } finally {
    await browser.close();
  }
}
