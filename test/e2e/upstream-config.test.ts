import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { envelope, tempHome, twl } from '../helpers.js';

/** `upstreams:` entries through the built binary: validation, and secrets never printed by config show. */
const SECRET = 'upstream-RECOGNISABLE-7e57';
const env = { TWL_STORE_AUTO_HOST: 'off' };
const { home, cleanup } = tempHome('twl-upstream-config-');
afterAll(() => cleanup());

describe('upstreams in the configuration', () => {
  it('config show never prints an upstream env or header value, whatever its name', async () => {
    writeFileSync(
      path.join(home, '.twlrc.json'),
      JSON.stringify({
        upstreams: [
          { name: 'ev', transport: 'stdio', command: 'npx', args: ['-y', 'some-server'], env: { HARMLESS: SECRET, REF: '${env:EV_TOKEN}' } },
          { name: 'docs', transport: 'http', url: 'https://docs.example.com/mcp', headers: { 'X-Plain': SECRET } },
        ],
      }),
    );
    for (const args of [['config', 'show'], ['config', 'show', '--json']]) {
      const r = await twl(args, { home, env });
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.stdout + r.stderr).not.toContain(SECRET);
    }
    const json = envelope((await twl(['config', 'show', '--json'], { home, env })).stdout);
    expect(json.result).toMatchObject({ config: { upstreams: [{ name: 'ev' }, { name: 'docs' }] } });
  });

  it('config validate names a broken upstream entry and the fix', async () => {
    writeFileSync(path.join(home, '.twlrc.json'), JSON.stringify({ upstreams: [{ name: 'ev', transport: 'stdio' }] }));
    const r = await twl(['config', 'validate'], { home, env });
    expect(r.exitCode).not.toBe(0);
    expect(r.stdout + r.stderr).toMatch(/upstreams\.0\.command.*required for transport stdio/);
  });
});
