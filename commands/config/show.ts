import { TwlCommand } from '../../src/cli/base.js';
import type { Config } from '../../src/runtime/config.js';
import { redactDeep } from '../../src/runtime/redact.js';
import { publicView } from '../../src/tools/upstreams.js';

interface Result {
  file: string | null;
  home: string;
  fromEnv: string[];
  config: Config;
}

export default class ConfigShow extends TwlCommand<Result> {
  static override summary = 'Show the effective configuration, with secrets hidden.';
  static override description = 'The file found (or none), the environment overrides applied, the data directory, and every setting with its default filled in. Passwords, tokens and keys (in URLs, query parameters, connection strings, secret-named keys) are hidden.';
  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --json'];

  async run(): Promise<Result> {
    await this.parse(ConfigShow);
    const { loaded } = await this.runtime();
    // Upstream env and header values may be secrets whatever their names: shown as how they are held, never as values.
    const config = { ...redactDeep(loaded.config), upstreams: loaded.config.upstreams.map((u) => publicView(u)) } as Config;
    const result = { file: loaded.file ?? null, home: loaded.home, fromEnv: loaded.fromEnv, config };
    this.log(`# file: ${result.file ?? '(none: defaults)'}`);
    this.log(`# data directory: ${result.home}`);
    for (const line of result.fromEnv) this.log(`# from the environment: ${line}`);
    this.log(JSON.stringify(result.config, null, 2));
    return result;
  }
}
