import { Flags } from '@oclif/core';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { TwlCommand } from '../../src/cli/base.js';
import { starterConfig } from '../../src/runtime/starter-config.js';
import { TwlError } from '../../src/runtime/errors.js';

interface Result {
  file: string;
}

export default class ConfigInit extends TwlCommand<Result> {
  static override summary = 'Write a commented starter configuration file.';
  static override description = 'The settings with their defaults and environment variables, and commented examples of what a new user sets first: services, runbooks, the commander policy, the browser and HTTP. Refuses to overwrite an existing file without --force.';
  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --path ~/.config/twl/config.yaml --force'];
  static override flags = {
    path: Flags.string({ description: 'Where to write it.', default: '.twlrc.yaml' }),
    force: Flags.boolean({ description: 'Overwrite an existing file.' }),
  };

  async run(): Promise<Result> {
    const { flags } = await this.parse(ConfigInit);
    const file = path.resolve(flags.path);
    if (existsSync(file) && !flags.force) throw new TwlError('TWL_CONFIG_EXISTS', `${file} exists already.`);
    writeFileSync(file, starterConfig(), { flag: flags.force ? 'w' : 'wx' });
    this.log(`wrote ${file}; check it with \`twl config validate\`.`);
    return { file };
  }
}
