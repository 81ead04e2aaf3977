import { TwlCommand } from '../../src/cli/base.js';
import { table } from '../../src/cli/render.js';

interface Result {
  backend: string;
  location: string;
  pending: number;
  migrations: Array<{ version: number; name: string; appliedAt: string | null }>;
}

export default class DbStatus extends TwlCommand<Result> {
  static override summary = "Show which migrations twl's store has applied.";
  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --json'];

  async run(): Promise<Result> {
    await this.parse(DbStatus);
    const runtime = await this.runtime();
    const { openStore } = await import('../../src/store/open.js');
    const { migrationStatus } = await import('../../src/store/migrate.js');
    const store = await openStore(runtime.loaded, runtime.logger, { role: 'twl db status', migrate: false });
    try {
      const migrations = await migrationStatus(store);
      const pending = migrations.filter((m) => !m.appliedAt).length;
      this.log(`${store.backend} store at ${store.location}\n`);
      this.log(table(['version', 'name', 'applied'], migrations.map((m) => [String(m.version).padStart(4, '0'), m.name, m.recordedAs ? `${m.appliedAt} as "${m.recordedAs}": another build's` : (m.appliedAt ?? 'pending')])));
      const foreign = migrations.filter((m) => m.recordedAs).length;
      if (foreign) this.log(`\n${foreign} recorded by another build of twl: this build refuses to migrate or use this store.`);
      else if (pending) this.log(`\n${pending} pending: run \`twl db migrate\`.`);
      return { backend: store.backend, location: store.location, pending, migrations };
    } finally {
      await store.close();
    }
  }
}
