import { TwlCommand } from '../../src/cli/base.js';

interface Result {
  backend: string;
  location: string;
  applied: Array<{ version: number; name: string; appliedAt: string | null }>;
}

export default class DbMigrate extends TwlCommand<Result> {
  static override summary = "Apply pending migrations to twl's store.";
  static override description =
    "twl applies them by itself when it opens its store (database.autoMigrate); run this to do it explicitly, for example before starting replicas on a shared PostgreSQL. Safe to run concurrently: each migration is applied once. A store whose recorded migration N has another name than this build's (another build of twl migrated it) is refused, not patched: `twl db status` shows which.";
  static override examples = ['<%= config.bin %> <%= command.id %>', 'TWL_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test <%= config.bin %> <%= command.id %> --json'];

  async run(): Promise<Result> {
    await this.parse(DbMigrate);
    const runtime = await this.runtime();
    const { openStore } = await import('../../src/store/open.js');
    const { migrate } = await import('../../src/store/migrate.js');
    const store = await openStore(runtime.loaded, runtime.logger, { role: 'twl db migrate', migrate: false });
    try {
      const applied = await migrate(store);
      this.log(applied.length ? applied.map((m) => `applied ${String(m.version).padStart(4, '0')}_${m.name}`).join('\n') : 'Nothing to apply: the store is up to date.');
      return { backend: store.backend, location: store.location, applied };
    } finally {
      await store.close();
    }
  }
}
