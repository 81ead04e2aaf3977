import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SecretBox } from '../../../src/upstream/secrets.js';
import { tempHome } from '../../helpers.js';

const homes: Array<() => void> = [];
const home = () => {
  const t = tempHome();
  homes.push(t.cleanup);
  return t.home;
};
afterEach(() => homes.splice(0).forEach((c) => c()));
const key = () => randomBytes(32).toString('base64');

describe('SecretBox', () => {
  it('round-trips through a versioned envelope that names its key, with a fresh IV each time', () => {
    const box = new SecretBox({ home: home(), env: {} });
    const a = box.encrypt('s3cr3t-token-value');
    const b = box.encrypt('s3cr3t-token-value');
    expect(a).toMatch(/^twl:enc:v1:[0-9a-f]{16}:[A-Za-z0-9+/]+=*$/);
    expect(a).not.toBe(b);
    expect(a).not.toContain('s3cr3t');
    expect(SecretBox.keyIdOf(a)).toBe(box.currentKeyId);
    expect(box.decrypt(a)).toBe('s3cr3t-token-value');
    expect(box.decrypt(box.encrypt(''))).toBe('');
    expect(box.decrypt(box.encrypt('é☃ unicode'))).toBe('é☃ unicode');
  });

  it('creates a 0600 key file in the data directory on first use, and reuses it', () => {
    const dir = home();
    const box = new SecretBox({ home: dir, env: {} });
    const envelope = box.encrypt('x');
    const file = path.join(dir, 'secret.key');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(new SecretBox({ home: dir, env: {} }).decrypt(envelope)).toBe('x');
  });

  it('refuses a key file others can read', () => {
    const dir = home();
    new SecretBox({ home: dir, env: {} }).encrypt('x');
    fs.chmodSync(path.join(dir, 'secret.key'), 0o644);
    expect(() => new SecretBox({ home: dir, env: {} }).encrypt('x')).toThrow(/readable by other users \(mode 644\): refusing to use it/);
  });

  it('fails closed: another key, a tampered text, a swapped key id, a truncated or malformed envelope', () => {
    const box = new SecretBox({ home: home(), env: { TWL_SECRET_KEY: key() } });
    const other = new SecretBox({ home: home(), env: { TWL_SECRET_KEY: key() } });
    const envelope = box.encrypt('value');
    expect(() => other.decrypt(envelope)).toThrow(/encrypted with key [0-9a-f]{16}, which this twl does not hold/);

    const raw = Buffer.from(envelope.split(':')[4]!, 'base64');
    raw[raw.length - 1]! ^= 1;
    const tampered = `${envelope.split(':').slice(0, 4).join(':')}:${raw.toString('base64')}`;
    expect(() => box.decrypt(tampered)).toThrow(/does not authenticate/);

    // The key id is authenticated: an envelope relabelled with another held key id fails.
    const both = new SecretBox({ home: home(), env: { TWL_SECRET_KEY: key(), TWL_SECRET_KEY_OLD: box['env'].TWL_SECRET_KEY } });
    const relabelled = envelope.replace(SecretBox.keyIdOf(envelope)!, both.currentKeyId);
    expect(() => both.decrypt(relabelled)).toThrow(/does not authenticate/);

    expect(() => box.decrypt(`${envelope.split(':').slice(0, 4).join(':')}:AAAA`)).toThrow(/truncated/);
    for (const bad of ['twl:enc:v1:zz:abc', 'twl:enc:v2:0123456789abcdef:AAAA', 'twl:enc:v1:0123456789abcdef:', 'plain']) expect(() => box.decrypt(bad)).toThrow(/malformed/);
    for (const err of [() => other.decrypt(envelope), () => box.decrypt(tampered)]) {
      try {
        err();
      } catch (e) {
        expect((e as { code: string }).code).toBe('TWL_SECRET_UNREADABLE');
        expect((e as Error).message).not.toContain('value');
      }
    }
  });

  it('refuses a TWL_SECRET_KEY that is not 256 bits, saying how to make one', () => {
    expect(() => new SecretBox({ home: home(), env: { TWL_SECRET_KEY: 'too-short' } }).encrypt('x')).toThrow(/TWL_SECRET_KEY is not a 256-bit key/);
    expect(new SecretBox({ home: home(), env: { TWL_SECRET_KEY: randomBytes(32).toString('hex') } }).source).toBe('env');
  });

  it('rotates the key file: new envelopes use the new key, old ones still decrypt until the old key is retired', () => {
    const dir = home();
    const box = new SecretBox({ home: dir, env: {} });
    const old = box.encrypt('rotating');
    const { previous, current } = box.rotate();
    expect(previous).toBe(SecretBox.keyIdOf(old));
    expect(current).not.toBe(previous);
    expect(box.decrypt(old)).toBe('rotating');
    const again = box.reencrypt(old);
    expect(SecretBox.keyIdOf(again)).toBe(current);
    expect(box.reencrypt('plain value')).toBe('plain value');
    // Another process reading the file sees the rotation.
    const fresh = new SecretBox({ home: dir, env: {} });
    expect(fresh.currentKeyId).toBe(current);
    expect(fresh.decrypt(old)).toBe('rotating');
    expect(() => box.retire(current)).toThrow(/current key; rotate first/);
    expect(box.retire(previous)).toBe(true);
    expect(() => new SecretBox({ home: dir, env: {} }).decrypt(old)).toThrow(/does not hold/);
    expect(new SecretBox({ home: dir, env: {} }).decrypt(again)).toBe('rotating');
    expect(fs.statSync(path.join(dir, 'secret.key')).mode & 0o777).toBe(0o600);
  });

  it('rotation with TWL_SECRET_KEY happens in the environment: TWL_SECRET_KEY_OLD keeps old envelopes readable', () => {
    const oldKey = key();
    const before = new SecretBox({ home: home(), env: { TWL_SECRET_KEY: oldKey } });
    const envelope = before.encrypt('v');
    expect(() => before.rotate()).toThrow(/comes from TWL_SECRET_KEY: rotate it there/);
    const after = new SecretBox({ home: home(), env: { TWL_SECRET_KEY: key(), TWL_SECRET_KEY_OLD: oldKey } });
    expect(after.decrypt(envelope)).toBe('v');
    expect(SecretBox.keyIdOf(after.reencrypt(envelope))).toBe(after.currentKeyId);
  });

  it('resolves ${env:NAME} references (whole or inside a value) and envelopes; a missing variable is named, not guessed', () => {
    const box = new SecretBox({ home: home(), env: {} });
    expect(box.resolve('Bearer ${env:TOKEN}', { TOKEN: 'abc' })).toBe('Bearer abc');
    expect(box.resolve('${env:A}-${env:B}', { A: '1', B: '2' })).toBe('1-2');
    expect(box.resolve('plain', {})).toBe('plain');
    expect(box.resolve(box.encrypt('enc'), {})).toBe('enc');
    expect(() => box.resolve('${env:MISSING}', {})).toThrow('The environment variable MISSING, referenced as ${env:MISSING}, is not set.');
  });
});
