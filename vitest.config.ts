import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Bounds for a test that hangs, not speed goals: on a loaded 2-core CI machine a twl command on a
    // new data directory takes tens of seconds (its store host creates the store), and an e2e test
    // runs several. A passing test never waits for them; a hanging one costs minutes of a long budget.
    testTimeout: 300_000,
    hookTimeout: 300_000,
    // The embedded store and the e2e binaries are real processes; keep the 2-core machines calm.
    maxWorkers: 2,
    fileParallelism: true,
    reporters: ['default', './test/summary-reporter.ts'],
  },
});
