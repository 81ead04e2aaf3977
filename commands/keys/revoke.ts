import { Args } from '@oclif/core';
import { TwlCommand } from '../../src/cli/base.js';
import { revokeKey, type RevokeResult } from '../../src/http/keys.js';

export default class KeysRevoke extends TwlCommand<RevokeResult> {
  static override summary = 'Revoke an API key, by id or prefix: requests with it fail from now on.';
  static override description = 'Name the key by the id or the prefix `twl keys list` shows (or the full key). Revoking a revoked key changes nothing. Revoked keys stay listed, with the time of revocation. The tasks the key created fail at their next run (TWL_KEY_REVOKED), and a cron task\'s schedule is removed then.';
  static override examples = ['<%= config.bin %> <%= command.id %> 3', '<%= config.bin %> <%= command.id %> twl_AbCdEfGh --json'];
  static override args = { key: Args.string({ description: 'The key id, its prefix (twl_ and 8 characters), or the key itself.', required: true }) };

  async run(): Promise<RevokeResult> {
    const { args } = await this.parse(KeysRevoke);
    const store = await (await this.runtime()).store();
    const result = await revokeKey(store, args.key);
    if (!this.jsonEnabled()) {
      const label = `API key ${result.id}${result.name ? ` "${result.name}"` : ''} (${result.prefix}…, ${result.role})`;
      this.log(result.revoked ? `Revoked ${label}.` : `${label} was revoked already, at ${result.revokedAt}.`);
    }
    return result;
  }
}
