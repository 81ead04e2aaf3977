import { TwlCommand } from '../../src/cli/base.js';
import { secretBox, storedUpstreams } from '../../src/tools/upstreams.js';

interface Result {
  previousKeyId: string;
  currentKeyId: string;
  keySource: 'env' | 'file';
  reencrypted: number;
  /** Upstreams of the configuration file holding envelopes of another key (re-encrypt those by hand). */
  stale: string[];
}

export default class UpstreamRotateKey extends TwlCommand<Result> {
  static override summary = 'Rotate the key that encrypts upstream secrets, and re-encrypt every stored secret with the new one.';
  static override description =
    'With the key file (secret.key in the data directory), a new key becomes current and the previous ones stay in the file, so envelopes not yet re-encrypted still open. ' +
    'Every secret of the upstreams added with `twl upstream add` is re-encrypted in one transaction. ' +
    'With TWL_SECRET_KEY, rotate in the environment instead: move the old key to TWL_SECRET_KEY_OLD, set a new TWL_SECRET_KEY, then run this to re-encrypt. ' +
    'Encrypted values written into the configuration file are listed as stale when they use another key.';
  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --json'];

  async run(): Promise<Result> {
    await this.parse(UpstreamRotateKey);
    const runtime = await this.runtime();
    const box = await secretBox(runtime);
    const { SecretBox } = await import('../../src/upstream/secrets.js');
    const previousKeyId = box.currentKeyId;
    if (box.source === 'file') box.rotate();
    const currentKeyId = box.currentKeyId;
    const store = await runtime.store();
    const reencrypted = await store.transaction(async (tx) => {
      let count = 0;
      await tx.query('SELECT name FROM twl_upstreams FOR UPDATE');
      for (const row of await storedUpstreams(tx)) {
        const seal = (values: Record<string, string> | undefined) => Object.fromEntries(Object.entries(values ?? {}).map(([k, v]) => [k, box.reencrypt(v)]));
        const entry = { ...row.entry, ...(row.entry.env ? { env: seal(row.entry.env) } : {}), ...(row.entry.headers ? { headers: seal(row.entry.headers) } : {}) };
        if (JSON.stringify(entry) === JSON.stringify(row.entry)) continue;
        await tx.query('UPDATE twl_upstreams SET entry = $2, updated_at = now() WHERE name = $1', [row.name, JSON.stringify(entry)]);
        count++;
      }
      return count;
    });
    const stale = runtime.config.upstreams
      .filter((u) => [...Object.values(u.env), ...Object.values(u.headers)].some((v) => SecretBox.isEnvelope(v) && SecretBox.keyIdOf(v) !== currentKeyId))
      .map((u) => u.name);
    if (!this.jsonEnabled()) {
      this.log(box.source === 'file' ? `Rotated the key: ${previousKeyId} → ${currentKeyId} (in ${box.keyFile}).` : `The key comes from TWL_SECRET_KEY (current ${currentKeyId}).`);
      this.log(`Re-encrypted the secrets of ${reencrypted} upstream${reencrypted === 1 ? '' : 's'}.`);
      if (stale.length) this.log(`Encrypted values in the configuration file still use an older key: ${stale.join(', ')}.`);
    }
    return { previousKeyId, currentKeyId, keySource: box.source, reencrypted, stale };
  }
}
