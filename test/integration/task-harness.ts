import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll } from 'vitest';
import { invoke } from '../../src/ops/invoke.js';
import showOp from '../../src/ops/task/show.js';
import type { Runtime } from '../../src/runtime/context.js';
import type { TaskStatus } from '../../src/studio/tasks.js';
import { TaskWorker } from '../../src/studio/worker.js';
import type { Store } from '../../src/store/types.js';
import { tempHome, testRuntime } from '../helpers.js';

export interface TaskBackend {
  name: string;
  available: boolean;
  config: Parameters<typeof testRuntime>[1];
}

/**
 * For one backend of a `describe.each`: a runtime hosting its store and a real task worker in this
 * process (pg-boss), started before the tests and stopped after them, its pg-boss `schema` dropped
 * on PostgreSQL (the test database is shared by concurrent runs). `runtime` and `store` are set once
 * the tests run; `until` waits for a task to reach one of the statuses.
 */
export function taskHarness(backend: TaskBackend, o: { schema: string; prefix: string; role: string; worker: string }) {
  const t = {} as { runtime: Runtime; store: Store; until: typeof until };
  let worker: TaskWorker | undefined;
  let cleanup: (() => void) | undefined;
  beforeAll(async () => {
    if (!backend.available) return;
    const home = tempHome(o.prefix);
    cleanup = home.cleanup;
    t.runtime = testRuntime(home.home, backend.config, { host: true, role: o.role });
    t.store = await t.runtime.store();
    worker = await TaskWorker.start(t.runtime, { concurrency: 2, queues: ['default'], name: o.worker });
  });
  afterAll(async () => {
    await worker?.stop(2000);
    if (backend.name === 'postgres' && t.store) await t.store.exec(`DROP SCHEMA IF EXISTS ${o.schema} CASCADE`);
    await t.runtime?.close();
    cleanup?.();
  });
  const until = async (id: number, statuses: TaskStatus[], ms = 60_000) => {
    const deadline = Date.now() + ms;
    for (;;) {
      const shown = await invoke(showOp, t.runtime, { id });
      if (statuses.includes(shown.task.status)) return shown;
      if (Date.now() > deadline) throw new Error(`task #${id} stayed ${shown.task.status} (waited for ${statuses.join(', ')}): ${JSON.stringify(shown)}`);
      await sleep(100);
    }
  };
  t.until = until;
  return t;
}
