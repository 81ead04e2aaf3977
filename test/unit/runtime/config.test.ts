import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { loadConfig, validateConfig } from '../../../src/runtime/config.js';
import type { TwlError } from '../../../src/runtime/errors.js';
import { starterConfig } from '../../../src/runtime/starter-config.js';
import { checkRunbooks } from '../../../src/cli/config-check.js';
import { coreOps } from '../../../src/ops/registry.js';

const dir = () => mkdtempSync(path.join(os.tmpdir(), 'twl-config-'));
const errorOf = async (fn: () => unknown) => {
  try {
    await fn();
  } catch (err) {
    return err as { code: string; message: string; exitCode: number };
  }
  throw new Error('did not throw');
};

describe('configuration', () => {
  it('fills in every default', () => {
    const { config, home } = validateConfig({}, undefined, { XDG_DATA_HOME: '/data' });
    expect(config.database).toEqual({ poolSize: 5, autoMigrate: true, targets: {}, queryMaxBytes: 10 * 1024 * 1024 });
    expect(config.redis.prefix).toBe('twl:');
    expect(config.store.lockTimeout).toBe(10_000);
    expect(home).toBe('/data/twl');
  });

  it('applies environment overrides and records them', () => {
    const loaded = validateConfig({ database: { poolSize: 2 } }, undefined, { TWL_DATABASE_URL: 'postgres://u@h/db', TWL_HOME: '/x', TWL_STORE_LOCK_TIMEOUT: '500ms' });
    expect(loaded.config.database.url).toBe('postgres://u@h/db');
    expect(loaded.config.database.poolSize).toBe(2);
    expect(loaded.config.store.lockTimeout).toBe(500);
    expect(loaded.home).toBe('/x');
    expect(loaded.fromEnv).toContain('database.url ← TWL_DATABASE_URL');
  });

  it('names the file, the key and the expectation of a wrong type', async () => {
    const cwd = dir();
    writeFileSync(path.join(cwd, '.twlrc.yaml'), 'database:\n  poolSize: lots\n');
    const err = await errorOf(() => loadConfig({ cwd, env: { HOME: cwd } }));
    expect(err.code).toBe('TWL_CONFIG_INVALID');
    expect(err.exitCode).toBe(3);
    expect(err.message).toContain(path.join(cwd, '.twlrc.yaml'));
    expect(err.message).toMatch(/database\.poolSize: .*expected number, received string/);
  });

  it('keeps change-feed events 7 days unless told otherwise: a duration of 1m or more, or off', () => {
    expect(validateConfig({}).config.store.eventRetention).toBe(7 * 86_400_000);
    expect(validateConfig({ store: { eventRetention: '36h' } }).config.store.eventRetention).toBe(36 * 3_600_000);
    for (const off of ['off', 0, '0', false]) expect(validateConfig({ store: { eventRetention: off } }).config.store.eventRetention).toBe(0);
    expect(() => validateConfig({ store: { eventRetention: '30s' } })).toThrow(/store\.eventRetention: expected off or a retention \(.*; 1m at least\), got "30s"/);
    expect(() => validateConfig({ store: { eventRetention: 'a week' } })).toThrow(/store\.eventRetention: expected off or a retention .*got "a week"/);
    expect(() => validateConfig({ store: { eventRetention: -5 } })).toThrow(/store\.eventRetention: expected off or a retention/);
  });

  it('keeps the run history 30 days and the audit trails forever unless told otherwise; a nonsense retention is refused naming the key and what it takes', () => {
    const { store } = validateConfig({}).config;
    expect(store.runRetention).toBe(30 * 86_400_000);
    expect(store.auditRetention).toBe(0);
    expect(validateConfig({ store: { runRetention: '90d', auditRetention: '365d' } }).config.store).toMatchObject({ runRetention: 90 * 86_400_000, auditRetention: 365 * 86_400_000 });
    expect(validateConfig({ store: { runRetention: 'off' } }).config.store.runRetention).toBe(0);
    expect(() => validateConfig({ store: { runRetention: '10m' } })).toThrow(/store\.runRetention: expected off or a retention such as 30d \(.*; 1h at least\), got "10m"/);
    for (const nonsense of ['a year', '1y', '-5d', '12h']) {
      expect(() => validateConfig({ store: { auditRetention: nonsense } }), nonsense).toThrow(new RegExp(`store\\.auditRetention: expected off or a retention such as 365d \\(.*; 1d at least\\), got "${nonsense}"`));
    }
    const err = (() => {
      try {
        validateConfig({ store: { auditRetention: 'forever' } }, '/etc/twl/.twlrc.yaml');
      } catch (e) {
        return e as TwlError;
      }
    })();
    expect(err?.code).toBe('TWL_CONFIG_INVALID');
    expect(err?.actions.join(' ')).toMatch(/Fix the file named above, then run `twl config validate`/);
  });

  it('rejects unknown keys (typos) and bad URLs', () => {
    expect(() => validateConfig({ databse: {} })).toThrow(/unknown key "databse"/);
    expect(() => validateConfig({ redis: { url: 'http://x' } })).toThrow(/redis\.url: expected a Redis URL/);
  });

  it('validates http.oauth: issuer and audience required, https keys, a known default role', () => {
    expect(validateConfig({}).config.http.oauth).toBeUndefined();
    expect(validateConfig({ http: { oauth: { issuer: 'https://login.example.com/', audience: 'https://twl.example.com' } } }).config.http.oauth).toEqual({
      issuer: 'https://login.example.com/',
      audience: 'https://twl.example.com',
      roleClaim: 'twl_role',
    });
    // http:// is for an issuer on this machine only.
    expect(validateConfig({ http: { oauth: { issuer: 'http://127.0.0.1:8080/realms/ops', audience: 'twl', defaultRole: 'viewer' } } }).config.http.oauth?.defaultRole).toBe('viewer');
    const err = (() => {
      try {
        validateConfig({ http: { oauth: { issuer: 'http://login.example.com', jwksUri: 'keys.json', roleClaim: '', defaultRole: 'root', scopes: 'twl' } } });
      } catch (e) {
        return e as { code: string; message: string };
      }
      throw new Error('did not throw');
    })();
    expect(err.code).toBe('TWL_CONFIG_INVALID');
    expect(err.message).toMatch(/http\.oauth\.issuer: expected an https:\/\/ URL \(http:\/\/ only to localhost/);
    expect(err.message).toMatch(/http\.oauth\.audience: required when http\.oauth is set/);
    expect(err.message).toMatch(/http\.oauth\.jwksUri: expected an https:\/\/ URL/);
    expect(err.message).toMatch(/http\.oauth\.roleClaim: /);
    expect(err.message).toMatch(/http\.oauth\.defaultRole: .*"viewer"\|"operator"\|"manager"\|"admin"/);
    expect(err.message).toMatch(/http\.oauth: unknown key "scopes"/);
    expect(() => validateConfig({ http: { oauth: { audience: 'twl' } } })).toThrow(/http\.oauth\.issuer: required when http\.oauth is set/);
    expect(() => validateConfig({ http: { oauth: { issuer: 'https://login.example.com', audience: '' } } })).toThrow(/http\.oauth\.audience: expected this server's identifier/);
  });

  it('blames the environment variable when it is the bad value', () => {
    expect(() => validateConfig({}, undefined, { TWL_DATABASE_URL: 'mysql://x' })).toThrow(/database\.url \(from TWL_DATABASE_URL\)/);
  });

  it('reports a file that does not parse, with its path', async () => {
    const cwd = dir();
    writeFileSync(path.join(cwd, '.twlrc.json'), '{ "log": ');
    const err = await errorOf(() => loadConfig({ cwd, env: { HOME: cwd } }));
    expect(err.code).toBe('TWL_CONFIG_UNREADABLE');
    expect(err.message).toContain('.twlrc.json');
  });

  it('loads twl.config.ts without a compiler', async () => {
    const cwd = dir();
    writeFileSync(path.join(cwd, 'twl.config.ts'), "const level: string = 'debug';\nexport default { log: { level } };\n");
    const loaded = await loadConfig({ cwd, env: { HOME: cwd } });
    expect(loaded.config.log.level).toBe('debug');
  });

  it('finds package.json#twl', async () => {
    const cwd = dir();
    writeFileSync(path.join(cwd, 'package.json'), JSON.stringify({ name: 'x', twl: { redis: { prefix: 'ops:' } } }));
    expect((await loadConfig({ cwd, env: { HOME: cwd } })).config.redis.prefix).toBe('ops:');
  });

  it('writes a starter file that validates', () => {
    const raw = parse(starterConfig());
    expect(validateConfig(raw).config.store.lockTimeout).toBe(10_000);
  });
});

describe('the starter file of config init', () => {
  /** The file with every commented example switched on (the lines after "# Example:", up to a blank line). */
  const withExamples = (text: string): string => {
    const out: string[] = [];
    let inExample = false;
    for (const line of text.split('\n')) {
      if (line === '# Example:') inExample = true;
      else if (line.trim() === '' || !line.startsWith('#')) inExample = false;
      else if (inExample) {
        out.push(line.replace(/^# ?/, ''));
        continue;
      }
      out.push(line);
    }
    return out.join('\n');
  };

  it('has the sections a user needs first, each with an example', () => {
    const text = starterConfig();
    for (const section of ['services', 'runbooks', 'commander', 'browser', 'http']) expect(text).toMatch(new RegExp(`^#? ?${section}:`, 'm'));
    expect(text.match(/^# Example:$/gm)).toHaveLength(5);
  });

  it('validates with every example switched on, runbook steps against the tools included', async () => {
    const raw = parse(withExamples(starterConfig())) as Record<string, unknown>;
    const loaded = validateConfig(raw);
    expect(loaded.config.services.map((s) => s.name)).toEqual(['shop', 'orders-db']);
    expect(loaded.config.runbooks).toHaveLength(1);
    expect(loaded.config.commander.rules).toHaveLength(2);
    expect(loaded.config.http.oauth?.issuer).toBe('https://auth.example.com/');
    expect(() => checkRunbooks(loaded, new Map())).toThrow(/unknown tool/);
    checkRunbooks(loaded, await coreOps());
  });
});
