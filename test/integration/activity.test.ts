import { afterAll, describe, expect, it } from 'vitest';
import { SAMPLED_CALLS, type Runtime } from '../../src/runtime/context.js';
import { readActivity } from '../../src/ui/activity.js';
import { tempHome, testRuntime } from '../helpers.js';
import { configBackends } from './backends.js';

const backends = configBackends();

// The activity record behind the dashboard: exact call and error counts, rows bounded per
// second, tool and outcome whatever the call rate.
for (const backend of backends) {
  describe.skipIf(!backend.available)(`recorded op calls (${backend.name})`, () => {
    const { home, cleanup } = tempHome('twl-activity-');
    const runtime: Runtime = testRuntime(home, backend.config);
    const group = `acttest${process.pid}x${Date.now() % 100_000}`;
    afterAll(async () => {
      await (await runtime.store()).query('DELETE FROM twl_op_calls WHERE tool LIKE $1', [`${group}%`]);
      await runtime.close();
      cleanup();
    });

    const rowsOf = async (tool: string) =>
      (await (await runtime.store()).query<{ rows: number; calls: number; errors: number; min: number; max: number }>(
        'SELECT count(*)::int AS rows, sum(weight)::int AS calls, (coalesce(sum(weight) FILTER (WHERE NOT ok), 0))::int AS errors, min(duration_ms) AS min, max(duration_ms) AS max FROM twl_op_calls WHERE tool = $1',
        [tool],
      )).rows[0]!;

    it('keeps every call while there are few', async () => {
      await runtime.store();
      for (const ms of [3, 5, 8]) runtime.recordCall(`${group}_few`, ms, true);
      await runtime.flushActivity();
      expect(await rowsOf(`${group}_few`)).toMatchObject({ rows: 3, calls: 3, errors: 0, min: 3, max: 8 });
    });

    it('writes a bounded sample under load, with exact counts the dashboard reads', async () => {
      const tool = `${group}_busy`;
      for (let i = 0; i < 3000; i++) runtime.recordCall(tool, i % 100, true);
      for (let i = 0; i < 40; i++) runtime.recordCall(tool, 1000, false);
      await runtime.flushActivity();
      const written = await rowsOf(tool);
      expect(written).toMatchObject({ calls: 3040, errors: 40 });
      // A sample per second, tool and outcome: two outcomes, and the loop may straddle a second.
      expect(written.rows).toBeLessThanOrEqual(SAMPLED_CALLS * 2 * 2);
      expect(written.rows).toBeGreaterThanOrEqual(SAMPLED_CALLS);
      const metrics = await readActivity(await runtime.store());
      expect(metrics.groups.find((g) => g.group === group)).toMatchObject({ calls: 3043, errors: 40 });
    });
  });
}
