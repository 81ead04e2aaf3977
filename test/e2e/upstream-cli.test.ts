import { statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { envelope, root, tempHome, twl } from '../helpers.js';

/** `twl upstream …` from a shell: bad input refused whole, secrets encrypted and rotated, a real server tested. */
const everything = path.join(root, 'node_modules', '.bin', 'mcp-server-everything');
const SECRET = 'twl-secret-ROTATE-ME-0c4f1e';

describe('twl upstream', () => {
  const { home, cleanup } = tempHome('twl-upstream-cli-');
  afterAll(() => cleanup());
  const run = (args: string[], env: Record<string, string> = {}) => twl(args, { home, env, timeout: 90_000 });
  const stored = async () => {
    const r = await run(['db', 'query', 'select name, entry::text as entry from twl_upstreams order by name', '--json']);
    return (envelope(r.stdout).result as { rows: Array<{ name: string; entry: string }> }).rows;
  };

  // Sixteen CLI runs: given time for a loaded machine.
  it('refuses bad input with the problem and the fix, and writes nothing', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['upstream', 'add', '../evil', '--', 'node', 'x'], /name: expected a lowercase name/],
      [['upstream', 'add', 'Ev', '--', 'node', 'x'], /name: expected a lowercase name/],
      [['upstream', 'add', 'évé', '--', 'node', 'x'], /name: expected a lowercase name/],
      [['upstream', 'add', 'a_b', '--', 'node', 'x'], /name: expected a lowercase name/],
      [['upstream', 'add', 'x'.repeat(33), '--', 'node', 'x'], /name: expected a lowercase name/],
      [['upstream', 'add', 'ok'], /after `--` \(stdio\), or --url/],
      [['upstream', 'add', 'ok', '--url', 'http://127.0.0.1:1/mcp', '--', 'node'], /not both/],
      [['upstream', 'add', 'ok', '--url', 'file:///etc/passwd'], /url: expected an http/],
      [['upstream', 'add', 'ok', '--env', 'NOVALUE', '--', 'node'], /--env .* is not NAME=VALUE/],
      [['upstream', 'add', 'ok', '--env', '=x', '--', 'node'], /--env .* is not NAME=VALUE/],
      [['upstream', 'add', 'ok', '--env', 'A=1', '--env', 'A=2', '--', 'node'], /--env A is given twice/],
      [['upstream', 'add', 'ok', '--env', 'BAD NAME=1', '--', 'node'], /--env "BAD NAME" is not NAME=VALUE: a name is letters, digits and _/],
      [['upstream', 'add', 'ok', '--header', 'X=1', '--', 'node'], /headers: only for transport http/],
      [['upstream', 'add', 'ok', '--timeout', 'soon', '--', 'node'], /timeout: expected/],
      [['upstream', 'remove', 'nothing'], /No upstream named "nothing"/],
      [['upstream', 'test', 'nothing'], /No upstream named "nothing"/],
    ];
    for (const [args, message] of cases) {
      const r = await run([...args.slice(0, 3), '--json', ...args.slice(3)]);
      expect(r.exitCode, `${args.join(' ')}: ${r.stdout}`).toBe(2);
      expect(String(envelope(r.stdout).error?.message), args.join(' ')).toMatch(message);
    }
    expect(await stored()).toEqual([]);
  });

  it('adds a stdio server with an encrypted secret and an env reference, refuses the name twice, and tests it', async () => {
    const added = await run(['upstream', 'add', 'ev', '--env', `TOKEN=${SECRET}`, '--env', 'FROM_ENV=${env:EV_FROM_ENV}', '--min-role', 'manager', '--json', '--', everything, 'stdio']);
    expect(added.exitCode, added.stderr).toBe(0);
    expect(added.stdout).not.toContain(SECRET);
    expect(envelope(added.stdout).result).toMatchObject({ upstream: { name: 'ev', origin: 'store', env: { TOKEN: '[encrypted]', FROM_ENV: '[env-reference]' }, minRole: 'manager' } });
    const [row] = await stored();
    expect(row!.entry).not.toContain(SECRET);
    expect(row!.entry).toContain('${env:EV_FROM_ENV}');
    expect(row!.entry).toMatch(/twl:enc:v1:[0-9a-f]{16}:/);
    // The key file was created on first use, readable by its owner only.
    expect(statSync(path.join(home, 'secret.key')).mode & 0o777).toBe(0o600);

    const again = await run(['upstream', 'add', 'ev', '--json', '--', everything]);
    expect(again.exitCode).toBe(2);
    expect(String(envelope(again.stdout).error?.message)).toMatch(/exists already/);

    const tested = await run(['upstream', 'test', 'ev', '--json'], { EV_FROM_ENV: 'from the environment' });
    expect(tested.exitCode, tested.stderr).toBe(0);
    const result = envelope(tested.stdout).result as { tools: Array<{ name: string; minRole: string }>; status: { state: string } };
    expect(result.status.state).toBe('ready');
    expect(result.tools.find((t) => t.name === 'ev_echo')).toMatchObject({ minRole: 'manager' });

    // The reference is resolved when the child starts: unset, the upstream says which variable is missing.
    const missing = await run(['upstream', 'test', 'ev', '--json']);
    expect(missing.exitCode).not.toBe(0);
    expect(JSON.stringify(envelope(missing.stdout).error)).toMatch(/EV_FROM_ENV/);
    expect(missing.stdout + missing.stderr).not.toContain(SECRET);
  });

  it('rotate-key re-encrypts the stored secrets with a new key, and the upstream still starts', async () => {
    const before = (await stored())[0]!.entry.match(/twl:enc:v1:([0-9a-f]{16}):/)![1];
    const rotated = await run(['upstream', 'rotate-key', '--json']);
    expect(rotated.exitCode, rotated.stderr).toBe(0);
    const result = envelope(rotated.stdout).result as { previousKeyId: string; currentKeyId: string; reencrypted: number };
    expect(result).toMatchObject({ previousKeyId: before, reencrypted: 1 });
    expect(result.currentKeyId).not.toBe(before);
    const after = (await stored())[0]!.entry;
    expect(after).toContain(`twl:enc:v1:${result.currentKeyId}:`);
    expect(after).not.toContain(`twl:enc:v1:${before}:`);
    const status = await run(['upstream', 'status', 'ev', '--json'], { EV_FROM_ENV: 'x' });
    expect(status.exitCode, status.stderr).toBe(0);
    expect(envelope(status.stdout).result).toMatchObject({ upstreams: [{ name: 'ev', state: 'ready', origin: 'store', error: null }] });
    const removed = await run(['upstream', 'remove', 'ev']);
    expect(removed.exitCode).toBe(0);
    expect(await stored()).toEqual([]);
  });
});
