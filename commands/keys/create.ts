import { Flags } from '@oclif/core';
import { TwlCommand } from '../../src/cli/base.js';
import { createKey, parseNamespaces, type CreatedKey } from '../../src/http/keys.js';
import { roles } from '../../src/ops/op.js';

const notShownAgain = 'Store it now: it is not shown again (twl keeps only a hash of it). If it is lost, revoke it and create another.';

export default class KeysCreate extends TwlCommand<CreatedKey> {
  static override summary = 'Create an API key for `twl serve --http`, with a role.';
  static override description = `The key is printed once and only a hash of it is stored. Each operation needs a minimum role: viewer < operator < manager < admin (each may do what the roles before it may). Clients send it as \`Authorization: Bearer <key>\`. With --namespaces the key lists and calls only the tools of those catalog namespaces (over MCP and REST alike): \`twl\` for twl's own tools, \`workflow\` for workflows, an upstream's namespace (default its name) for its tools; what twl calls for the key (a workflow's steps, unless the workflow says grants: definer; an agent's run; Maestro's runbook steps; the runs of the tasks it creates, which keep its namespaces) stays within them too. Keys are managed from this CLI only, never over MCP or HTTP.`;
  static override examples = [
    '<%= config.bin %> <%= command.id %> --role viewer --name grafana',
    '<%= config.bin %> <%= command.id %> --role operator --name ci-bot --json',
    '<%= config.bin %> <%= command.id %> --role operator --name memory-bot --namespaces memory,twl',
  ];
  static override flags = {
    role: Flags.string({ description: 'What the key may call: viewer, operator, manager or admin.', options: [...roles], required: true }),
    name: Flags.string({ description: 'Who or what uses it, shown by `twl keys list`.' }),
    namespaces: Flags.string({ description: 'Comma-separated catalog namespaces it may list and call (twl, workflow, an upstream\'s namespace); default every one.' }),
  };

  async run(): Promise<CreatedKey> {
    const { flags } = await this.parse(KeysCreate);
    const namespaces = parseNamespaces(flags.namespaces);
    const store = await (await this.runtime()).store();
    const created = await createKey(store, { role: flags.role, name: flags.name, namespaces });
    if (this.jsonEnabled()) {
      this.note(notShownAgain);
    } else {
      this.log(`Created API key ${created.id}${created.name ? ` "${created.name}"` : ''} with the ${created.role} role${created.namespaces ? ` for the namespaces ${created.namespaces.join(', ')}` : ''}:\n`);
      this.log(`  ${created.key}\n`);
      this.log(notShownAgain);
      this.log('Clients send it as the header `Authorization: Bearer <key>`.');
    }
    return created;
  }
}
