import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { TwlError } from '../runtime/errors.js';

/**
 * Secrets of upstreams (header values, tokens, env values) encrypted at rest: AES-256-GCM with a
 * random 96-bit IV, in a versioned envelope `twl:enc:v1:<keyid>:<base64(iv | tag | ciphertext)>`.
 * The key id is bound into the authenticated data, so an envelope cannot be replayed under
 * another key. Keys: TWL_SECRET_KEY (32 bytes, base64 or hex; older ones in TWL_SECRET_KEY_OLD,
 * comma-separated, still decrypt), else a 0600 key file `secret.key` in the data directory,
 * created on first use, holding the current key and the previous ones until they are retired.
 * Any doubt (unknown key id, tampered text, loose key file) fails closed with TwlError.
 */
export const envelopePrefix = 'twl:enc:v1:';
const envelopePattern = /^twl:enc:v1:([0-9a-f]{16}):([A-Za-z0-9+/]+={0,2})$/;
const envReference = /\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}/g;

interface KeyFile {
  version: 1;
  current: string;
  keys: Record<string, string>;
}

const keyIdOf = (key: Buffer) => createHash('sha256').update('twl-secret-key-id\0').update(key).digest('hex').slice(0, 16);

function parseKey(text: string, variable: string): Buffer {
  const value = text.trim();
  const key = /^[0-9a-fA-F]{64}$/.test(value) ? Buffer.from(value, 'hex') : /^[A-Za-z0-9+/_-]{43}=?$/.test(value) ? Buffer.from(value, 'base64') : undefined;
  if (!key || key.length !== 32) {
    throw new TwlError('TWL_SECRET_UNREADABLE', `${variable} is not a 256-bit key: expected 32 bytes in base64 (44 characters) or hex (64 characters).`, {
      actions: ['Generate one with `openssl rand -base64 32`.'],
    });
  }
  return key;
}

const unreadable = (message: string, actions?: string[]) => new TwlError('TWL_SECRET_UNREADABLE', message, actions ? { actions } : {});

export class SecretBox {
  private keys?: Map<string, Buffer>;
  private current?: string;
  private readonly file: string;
  private readonly env: NodeJS.ProcessEnv;

  constructor(options: { home: string; env?: NodeJS.ProcessEnv }) {
    this.file = path.join(options.home, 'secret.key');
    this.env = options.env ?? process.env;
  }

  /** Whether a configuration value is an encrypted envelope. */
  static isEnvelope(value: string): boolean {
    return value.startsWith(envelopePrefix);
  }

  /** Where the key comes from, for status output (never the key). */
  get source(): 'env' | 'file' {
    return this.env.TWL_SECRET_KEY ? 'env' : 'file';
  }

  get keyFile(): string {
    return this.file;
  }

  /** The id of the key new envelopes are encrypted with (loads or creates the key). */
  get currentKeyId(): string {
    this.load();
    return this.current!;
  }

  encrypt(plain: string): string {
    this.load();
    const id = this.current!;
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.keys!.get(id)!, iv);
    cipher.setAAD(Buffer.from(`${envelopePrefix}${id}`));
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return `${envelopePrefix}${id}:${Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64')}`;
  }

  /** The key id an envelope names, or undefined when it is not one. */
  static keyIdOf(envelope: string): string | undefined {
    return envelopePattern.exec(envelope)?.[1];
  }

  decrypt(envelope: string): string {
    const match = envelopePattern.exec(envelope);
    if (!match) throw unreadable('An encrypted value is malformed: expected twl:enc:v1:<key id>:<base64>.', ['Store the secret again (`twl upstream add … --header/--env`).']);
    this.load();
    const [, id, data] = match as unknown as [string, string, string];
    const key = this.keys!.get(id);
    if (!key) throw unreadable(`A secret is encrypted with key ${id}, which this twl does not hold (current key ${this.current}).`);
    const raw = Buffer.from(data, 'base64');
    if (raw.length < 28) throw unreadable(`A secret encrypted with key ${id} is truncated.`);
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
      decipher.setAAD(Buffer.from(`${envelopePrefix}${id}`));
      decipher.setAuthTag(raw.subarray(12, 28));
      return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
    } catch {
      throw unreadable(`A secret encrypted with key ${id} does not authenticate: it was altered, or the key changed since.`);
    }
  }

  /**
   * A configuration value made usable: an envelope decrypted, `${env:NAME}` references replaced
   * by the variable's value (from `env`), anything else as written. Call it only when spawning
   * or connecting; never log the result.
   */
  resolve(value: string, env: NodeJS.ProcessEnv = this.env): string {
    if (SecretBox.isEnvelope(value)) return this.decrypt(value);
    return value.replace(envReference, (_, name: string) => {
      const found = env[name];
      if (found === undefined) throw unreadable(`The environment variable ${name}, referenced as \${env:${name}}, is not set.`, [`Set ${name} in twl's environment, or store the value encrypted.`]);
      return found;
    });
  }

  /** An envelope re-encrypted with the current key (after a rotation); plain values unchanged. */
  reencrypt(value: string): string {
    if (!SecretBox.isEnvelope(value)) return value;
    if (SecretBox.keyIdOf(value) === this.currentKeyId) return value;
    return this.encrypt(this.decrypt(value));
  }

  /**
   * A new current key in the key file; the previous keys stay to decrypt older envelopes until
   * `retire`d. With TWL_SECRET_KEY the keys live in the environment: rotate there instead.
   */
  rotate(): { previous: string; current: string } {
    if (this.source === 'env') {
      throw unreadable('The secret key comes from TWL_SECRET_KEY: rotate it there.', [
        'Move the current key to TWL_SECRET_KEY_OLD, set a new TWL_SECRET_KEY (`openssl rand -base64 32`), then run `twl upstream rotate-key` to re-encrypt.',
      ]);
    }
    this.load();
    const previous = this.current!;
    const key = randomBytes(32);
    const id = keyIdOf(key);
    const data = this.readFile() ?? { version: 1, current: previous, keys: {} };
    data.keys[id] = key.toString('base64');
    data.current = id;
    this.writeFile(data);
    this.keys!.set(id, key);
    this.current = id;
    return { previous, current: id };
  }

  /** Drops an old key from the key file (once nothing is encrypted with it). */
  retire(keyId: string): boolean {
    if (keyId === this.currentKeyId) throw unreadable(`Key ${keyId} is the current key; rotate first.`);
    const data = this.readFile();
    if (!data || !(keyId in data.keys)) return false;
    delete data.keys[keyId];
    this.writeFile(data);
    this.keys!.delete(keyId);
    return true;
  }

  private load(): void {
    if (this.keys) return;
    const keys = new Map<string, Buffer>();
    const fromEnv = this.env.TWL_SECRET_KEY;
    if (fromEnv) {
      const key = parseKey(fromEnv, 'TWL_SECRET_KEY');
      this.current = keyIdOf(key);
      keys.set(this.current, key);
      for (const old of (this.env.TWL_SECRET_KEY_OLD ?? '').split(',').filter((s) => s.trim())) {
        const oldKey = parseKey(old, 'TWL_SECRET_KEY_OLD');
        keys.set(keyIdOf(oldKey), oldKey);
      }
    } else {
      let data = this.readFile();
      if (!data) data = this.createFile();
      for (const [id, encoded] of Object.entries(data.keys)) keys.set(id, parseKey(encoded, `key ${id} in ${this.file}`));
      if (!keys.has(data.current)) throw unreadable(`The key file ${this.file} names a current key it does not hold.`);
      this.current = data.current;
    }
    this.keys = keys;
  }

  private readFile(): KeyFile | undefined {
    let text: string;
    try {
      const stat = fs.statSync(this.file);
      if ((stat.mode & 0o077) !== 0) throw unreadable(`The key file ${this.file} is readable by other users (mode ${(stat.mode & 0o777).toString(8)}): refusing to use it.`, [`Run \`chmod 600 ${this.file}\`.`]);
      text = fs.readFileSync(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    try {
      const data = JSON.parse(text) as KeyFile;
      if (data?.version !== 1 || typeof data.current !== 'string' || typeof data.keys !== 'object' || data.keys === null) throw new Error('shape');
      return data;
    } catch {
      throw unreadable(`The key file ${this.file} is not a twl key file.`, ['Restore it from a backup; without it the encrypted secrets cannot be read.']);
    }
  }

  /** Creates the key file exclusively (O_EXCL): two processes starting at once agree on one key. */
  private createFile(): KeyFile {
    const key = randomBytes(32);
    const data: KeyFile = { version: 1, current: keyIdOf(key), keys: { [keyIdOf(key)]: key.toString('base64') } };
    fs.mkdirSync(path.dirname(this.file), { recursive: true, mode: 0o700 });
    try {
      fs.writeFileSync(this.file, `${JSON.stringify(data, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
      return data;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return this.readFile()!;
      throw err;
    }
  }

  /** Replaces the key file atomically (write a 0600 temporary file, then rename). */
  private writeFile(data: KeyFile): void {
    const tmp = `${this.file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, `${JSON.stringify(data, null, 2)}\n`, { mode: 0o600 });
    fs.renameSync(tmp, this.file);
  }
}
