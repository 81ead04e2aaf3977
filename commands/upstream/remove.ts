import { Args } from '@oclif/core';
import { TwlCommand } from '../../src/cli/base.js';
import { TwlError } from '../../src/runtime/errors.js';
import { configuredUpstreams, pick } from '../../src/tools/upstreams.js';

interface Result {
  removed: string;
}

export default class UpstreamRemove extends TwlCommand<Result> {
  static override summary = 'Remove an upstream added with `twl upstream add` (its encrypted secrets go with it).';
  static override description = 'An upstream from the configuration file is removed by editing the file. A running `twl serve` on the same store drops it within seconds (its clients get notifications/tools/list_changed). Its pinned tool definitions are forgotten.';
  static override examples = ['<%= config.bin %> <%= command.id %> ev', '<%= config.bin %> <%= command.id %> ev --json'];
  static override args = { name: Args.string({ description: 'The upstream\'s name.', required: true }) };

  async run(): Promise<Result> {
    const { args } = await this.parse(UpstreamRemove);
    const runtime = await this.runtime();
    const found = pick(await configuredUpstreams(runtime, (m) => this.note(m)), args.name);
    if (found.origin === 'config') {
      throw new TwlError('TWL_INPUT_INVALID', `Upstream ${args.name} is in the configuration file ${runtime.loaded.file ?? ''}: remove its entry under \`upstreams:\` there.`.replace(' :', ':'));
    }
    const store = await runtime.store();
    await store.query('DELETE FROM twl_upstreams WHERE name = $1', [args.name]);
    await (await import('../../src/tools/pins.js')).dropPin(store, args.name);
    if (!this.jsonEnabled()) this.log(`Removed upstream ${args.name}.`);
    return { removed: args.name };
  }
}
