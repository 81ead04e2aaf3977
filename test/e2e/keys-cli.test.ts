import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { envelope, tempHome, twl } from '../helpers.js';

let home: string;
let cleanup: () => void;
beforeAll(() => ({ home, cleanup } = tempHome('twl-keys-e2e-')));
afterAll(() => cleanup());

describe('API keys from the shell', () => {
  it('creates a key shown once, lists it without the key, revokes it', async () => {
    const created = await twl(['keys', 'create', '--role', 'operator', '--name', 'ci-bot'], { home });
    expect(created.exitCode, created.stderr).toBe(0);
    const key = /twl_[A-Za-z0-9_-]{43}/.exec(created.stdout)?.[0];
    expect(key).toBeDefined();
    expect(created.stdout).toMatch(/Store it now: it is not shown again/);

    const json = await twl(['keys', 'create', '--role', 'viewer', '--json'], { home });
    expect(json.exitCode, json.stderr).toBe(0);
    const body = envelope(json.stdout);
    expect(body.result).toMatchObject({ role: 'viewer', name: null, key: expect.stringMatching(/^twl_/) });
    expect(body.warnings.join(' ')).toMatch(/not shown again/);

    // A namespace grant: checked before anything is written; shown by keys list.
    const granted = await twl(['keys', 'create', '--role', 'operator', '--name', 'mem-bot', '--namespaces', 'memory,twl', '--json'], { home });
    expect(granted.exitCode, granted.stderr).toBe(0);
    expect(envelope(granted.stdout).result).toMatchObject({ namespaces: ['memory', 'twl'] });
    const hostile = await twl(['keys', 'create', '--role', 'viewer', '--namespaces', "twl,x'; drop table twl_api_keys;--", '--json'], { home });
    expect(hostile.exitCode).toBe(2);
    expect(envelope(hostile.stdout).error).toMatchObject({ code: 'TWL_INPUT_INVALID', message: expect.stringMatching(/is not a namespace/) });

    const listed = await twl(['keys', 'list'], { home });
    expect(listed.exitCode, listed.stderr).toBe(0);
    expect(listed.stdout).toMatch(/ID\s+NAME\s+ROLE\s+NAMESPACES\s+PREFIX\s+CREATED\s+LAST USED\s+REVOKED/);
    expect(listed.stdout).toMatch(/ci-bot\s+operator\s+all\s/);
    expect(listed.stdout).toMatch(/mem-bot\s+operator\s+memory,twl\s/);
    expect(listed.stdout).toContain('ci-bot');
    expect(listed.stdout).toContain(`${key!.slice(0, 12)}…`);
    const listedJson = await twl(['keys', 'list', '--json'], { home });
    expect(listedJson.stdout).not.toContain(key!);
    expect(listedJson.stdout).not.toContain(String(body.result!.key));
    expect(listedJson.stdout).not.toMatch(/hash/i);
    const keys = envelope(listedJson.stdout).result!.keys as Array<{ id: number; name: string | null; revokedAt: string | null }>;
    // ci-bot, the viewer key and mem-bot: the hostile grant wrote nothing.
    expect(keys).toHaveLength(3);

    const id = keys.find((k) => k.name === 'ci-bot')!.id;
    const revoked = await twl(['keys', 'revoke', String(id)], { home });
    expect(revoked.exitCode, revoked.stderr).toBe(0);
    expect(revoked.stdout).toMatch(/Revoked API key/);
    const again = envelope((await twl(['keys', 'revoke', key!.slice(0, 12), '--json'], { home })).stdout);
    expect(again.result).toMatchObject({ id, revoked: false, revokedAt: expect.any(String) });

    const active = envelope((await twl(['keys', 'list', '--active', '--json'], { home })).stdout).result!.keys as unknown[];
    expect(active).toHaveLength(2);
  });

  it('refuses an unknown role and an unknown key with usage errors', async () => {
    const role = await twl(['keys', 'create', '--role', 'root'], { home });
    expect(role.exitCode).toBe(2);
    expect(role.stderr).toMatch(/viewer, operator, manager, admin/);
    const unknown = await twl(['keys', 'revoke', '424242', '--json'], { home });
    expect(unknown.exitCode).toBe(2);
    expect(envelope(unknown.stdout).error).toMatchObject({ code: 'TWL_INPUT_INVALID' });
  });

  it('has help, and examples in the manifest', async () => {
    const help = await twl(['keys', '--help'], { home });
    expect(help.stdout).toMatch(/keys create/);
    const { readFileSync } = await import('node:fs');
    const manifest = JSON.parse(readFileSync('oclif.manifest.json', 'utf8')) as { commands: Record<string, { examples?: string[] }> };
    for (const id of ['keys:create', 'keys:list', 'keys:revoke']) expect(manifest.commands[id]?.examples?.length, id).toBeGreaterThan(0);
  });
});
