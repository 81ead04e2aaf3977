import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempHome, twl } from '../helpers.js';

/** `upstreams:` entries through the built binary (how config show hides their secrets is the catalog's, tested there). */
const env = { TWL_STORE_AUTO_HOST: 'off' };
const { home, cleanup } = tempHome('twl-upstream-config-');
afterAll(() => cleanup());

describe('upstreams in the configuration', () => {
  it('config validate names a broken upstream entry and the fix', async () => {
    writeFileSync(path.join(home, '.twlrc.json'), JSON.stringify({ upstreams: [{ name: 'ev', transport: 'stdio' }] }));
    const r = await twl(['config', 'validate'], { home, env });
    expect(r.exitCode).not.toBe(0);
    expect(r.stdout + r.stderr).toMatch(/upstreams\.0\.command.*required for transport stdio/);
  });
});
