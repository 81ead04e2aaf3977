import { Flags } from '@oclif/core';
import { TwlCommand } from '../../src/cli/base.js';
import { table } from '../../src/cli/render.js';
import { listKeys, type KeyInfo } from '../../src/http/keys.js';

interface Result {
  keys: KeyInfo[];
}

const when = (iso: string | null) => (iso ? iso.slice(0, 19).replace('T', ' ') : '—');

export default class KeysList extends TwlCommand<Result> {
  static override summary = 'List the API keys: id, name, role, namespaces, prefix, created, last used, revoked.';
  static override description = 'Never shows a key or its hash: the prefix (the first characters of the key) tells keys apart. Last use is recorded at most once a minute.';
  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --active --json'];
  static override flags = {
    active: Flags.boolean({ description: 'Only keys that are not revoked.' }),
  };

  async run(): Promise<Result> {
    const { flags } = await this.parse(KeysList);
    const store = await (await this.runtime()).store();
    const keys = await listKeys(store, { includeRevoked: !flags.active });
    if (!this.jsonEnabled()) {
      if (!keys.length) this.log(flags.active ? 'No active API keys. Create one with `twl keys create --role viewer --name NAME`.' : 'No API keys yet. Create one with `twl keys create --role viewer --name NAME`.');
      else this.log(table(['ID', 'NAME', 'ROLE', 'NAMESPACES', 'PREFIX', 'CREATED', 'LAST USED', 'REVOKED'], keys.map((k) => [k.id, k.name ?? '', k.role, k.namespaces?.join(',') ?? 'all', `${k.prefix}…`, when(k.createdAt), when(k.lastUsedAt), when(k.revokedAt)])));
    }
    return { keys };
  }
}
