import { Args } from '@oclif/core';
import { TwlCommand, coreOpsOnce } from '../../src/cli/base.js';
import { checkRunbooks } from '../../src/cli/config-check.js';
import { loadConfig } from '../../src/runtime/config.js';

interface Result {
  valid: true;
  file: string | null;
}

export default class ConfigValidate extends TwlCommand<Result> {
  static override summary = 'Check a configuration file (default: the one twl would use).';
  static override description =
    'Every key and value against the schema (service targets per kind included), and each runbook step against the tool it names: the tool exists, and its input is what the tool accepts. ' +
    'Exit code 0 when it is valid; otherwise 3, with the file, each bad key and what is expected.';
  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> ./ops/.twlrc.yaml --json'];
  static override args = { file: Args.string({ description: 'The file to check.' }) };

  async run(): Promise<Result> {
    const { args } = await this.parse(ConfigValidate);
    const loaded = await loadConfig({ file: args.file });
    checkRunbooks(loaded, await coreOpsOnce());
    this.log(loaded.file ? `${loaded.file}: valid` : 'No configuration file found; the defaults are valid.');
    return { valid: true, file: loaded.file ?? null };
  }
}
