import { Args, Flags } from '@oclif/core';
import { TwlCommand } from '../../src/cli/base.js';
import { roles } from '../../src/ops/op.js';
import { TwlError } from '../../src/runtime/errors.js';
import { flagPairs } from '../../src/upstream/config.js';
import { configuredUpstreams, describeIssues, publicView, secretBox, secretKind } from '../../src/tools/upstreams.js';

interface Result {
  upstream: Record<string, unknown>;
}

export default class UpstreamAdd extends TwlCommand<Result> {
  static override summary = 'Add an upstream MCP server: its tools join the catalog as NAME_TOOL.';
  static override description =
    'A stdio server is the command after `--` (started by twl as a child process, never through a shell); an HTTP server is --url. ' +
    'The entry is validated like an `upstreams:` entry of the configuration file and stored in twl\'s store (table twl_upstreams), so no configuration file is rewritten and every `twl serve` on the same store sees it. ' +
    'Every --env and --header value is encrypted at rest (AES-256-GCM; the key is TWL_SECRET_KEY, else the 0600 file secret.key in the data directory, created on first use) unless it is a ${env:NAME} reference, which is kept as written and read from twl\'s environment when the upstream starts. Values are never printed, logged or returned. ' +
    'Tools that are not read-only ask for approval before each call unless --approval never; HTTP callers need --min-role (default: operator for tools that write, viewer for read-only ones). ' +
    'A running `twl serve` on the same store picks it up within seconds, without a restart. ' +
    'Its tool definitions are pinned when first listed; if they change later, its tools are quarantined until `twl upstream accept NAME` (unless --no-pin). ' +
    'Check it with `twl upstream test NAME`.';
  static override examples = [
    '<%= config.bin %> <%= command.id %> ev -- mcp-server-everything stdio',
    '<%= config.bin %> <%= command.id %> gh --env \'GITHUB_TOKEN=${env:GITHUB_TOKEN}\' -- mcp-server-github',
    '<%= config.bin %> <%= command.id %> docs --url https://docs.example.com/mcp --header \'Authorization=Bearer sk-…\' --min-role viewer',
    '<%= config.bin %> <%= command.id %> fs --include \'read_*\' --approval never --json -- mcp-server-filesystem /srv/share',
  ];
  static override strict = false;
  static override args = { name: Args.string({ description: 'Lowercase letters, digits and -, starting with a letter (at most 32): its tools are named NAME_TOOL.', required: true }) };
  static override flags = {
    url: Flags.string({ description: 'An HTTP upstream\'s MCP endpoint (Streamable HTTP).' }),
    header: Flags.string({ description: 'HTTP: a header sent with every request, NAME=VALUE (repeat); encrypted at rest unless a ${env:NAME} reference.', multiple: true }),
    env: Flags.string({ description: 'stdio: an environment variable of the child, NAME=VALUE (repeat); encrypted at rest unless a ${env:NAME} reference.', multiple: true }),
    cwd: Flags.string({ description: 'stdio: the child\'s working directory.' }),
    sharing: Flags.string({ description: 'shared (one child), pool (several, least busy first) or isolated (one per client session).', options: ['shared', 'pool', 'isolated'] }),
    timeout: Flags.string({ description: 'How long one call may take, e.g. 30s.' }),
    approval: Flags.string({ description: 'ask: tools that are not read-only ask before each call (default); never: they run without asking.', options: ['ask', 'never'] }),
    'min-role': Flags.string({ description: 'The least role an HTTP caller needs for its tools.', options: [...roles] }),
    include: Flags.string({ description: 'Only the tools matching this glob (* and ?; repeat).', multiple: true }),
    exclude: Flags.string({ description: 'Leave out the tools matching this glob (repeat).', multiple: true }),
    namespace: Flags.string({ description: 'Prefix of its tools (NAMESPACE_TOOL) and what API keys are granted (`twl keys create --namespaces`); default its name.' }),
    pin: Flags.boolean({ description: 'Pin its tool definitions on first sight and quarantine it when they change (default); --no-pin follows the upstream.', allowNo: true }),
  };

  async run(): Promise<Result> {
    const { args, flags, argv } = await this.parse(UpstreamAdd);
    const command = (argv as string[]).filter((a, i) => !(i === 0 && a === args.name)).filter((a, i) => !(i === 0 && a === '--'));
    if (!flags.url && !command.length) throw new TwlError('TWL_INPUT_INVALID', 'Give the server to start after `--` (stdio), or --url (HTTP).', { actions: ['`twl upstream add ev -- mcp-server-everything stdio`, or `twl upstream add docs --url https://host/mcp`.'] });
    if (flags.url && command.length) throw new TwlError('TWL_INPUT_INVALID', 'Give either a command after `--` (stdio) or --url (HTTP), not both.');
    const env = flagPairs(flags.env, '--env');
    const headers = flagPairs(flags.header, '--header');
    const entry: Record<string, unknown> = {
      name: args.name,
      transport: flags.url ? 'http' : 'stdio',
      ...(flags.url ? { url: flags.url } : { command: command[0], args: command.slice(1) }),
      ...(Object.keys(env).length ? { env } : {}),
      ...(Object.keys(headers).length ? { headers } : {}),
      ...(flags.cwd ? { cwd: flags.cwd } : {}),
      ...(flags.sharing ? { sharing: flags.sharing } : {}),
      ...(flags.timeout ? { timeout: flags.timeout } : {}),
      ...(flags.approval ? { approval: flags.approval } : {}),
      ...(flags['min-role'] ? { minRole: flags['min-role'] } : {}),
      ...(flags.namespace ? { namespace: flags.namespace } : {}),
      ...(flags.pin === false ? { pin: false } : {}),
      ...(flags.include || flags.exclude ? { tools: { ...(flags.include ? { include: flags.include } : {}), ...(flags.exclude ? { exclude: flags.exclude } : {}) } } : {}),
    };
    // Validated as the configuration file's entries are, before anything is encrypted or written.
    const { upstreamConfigSchema } = await import('../../src/upstream/config.js');
    const parsed = upstreamConfigSchema.safeParse(entry);
    if (!parsed.success) {
      throw new TwlError('TWL_INPUT_INVALID', `Invalid upstream: ${describeIssues(parsed.error)}.`);
    }
    const runtime = await this.runtime();
    const all = await configuredUpstreams(runtime, (m) => this.note(m));
    const existing = all.find((u) => u.entry.name === args.name);
    const { namespaceOf } = await import('../../src/upstream/config.js');
    const clash = all.find((u) => namespaceOf(u.entry) === namespaceOf(parsed.data));
    if (!existing && clash) {
      throw new TwlError('TWL_INPUT_INVALID', `The namespace ${namespaceOf(parsed.data)} is upstream ${clash.entry.name}'s already: each upstream's tools need their own prefix.`, { actions: [`Give this one another with --namespace NAME.`] });
    }
    if (existing) {
      throw new TwlError('TWL_INPUT_INVALID', `An upstream named ${args.name} exists already (${existing.origin === 'config' ? `in ${runtime.loaded.file ?? 'the configuration'}` : 'added with `twl upstream add`'}).`, {
        actions: [existing.origin === 'config' ? 'Choose another name, or edit the configuration file.' : `Remove it first with \`twl upstream remove ${args.name}\`, or choose another name.`],
      });
    }
    const box = await secretBox(runtime);
    const seal = (values: Record<string, string>) => Object.fromEntries(Object.entries(values).map(([k, v]) => [k, secretKind(v) === 'env-reference' ? v : box.encrypt(v)]));
    const stored = { ...entry, ...(Object.keys(env).length ? { env: seal(env) } : {}), ...(Object.keys(headers).length ? { headers: seal(headers) } : {}) };
    const store = await runtime.store();
    await store.query('INSERT INTO twl_upstreams (name, entry, created_by) VALUES ($1, $2, $3)', [args.name, JSON.stringify(stored), runtime.actor ?? 'cli']);
    const upstream = { origin: 'store', ...publicView(stored as typeof parsed.data) };
    if (!this.jsonEnabled()) {
      this.log(`Added upstream ${args.name} (${entry.transport}); its tools will be named ${flags.namespace ?? args.name}_TOOL.`);
      const secrets = [...Object.keys(env).map((k) => `env ${k}`), ...Object.keys(headers).map((k) => `header ${k}`)];
      if (secrets.length) this.log(`Stored encrypted or as references: ${secrets.join(', ')}.`);
      this.log(`Check it with \`twl upstream test ${args.name}\`; a running \`twl serve\` on this store picks it up within seconds (its clients get notifications/tools/list_changed).`);
    }
    return { upstream };
  }
}
