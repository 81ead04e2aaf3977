import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { invoke } from '../../../src/ops/invoke.js';
import { defineOp, readOnly } from '../../../src/ops/op.js';
import { tempHome, testRuntime } from '../../helpers.js';

/** An op that waits for its signal, or for `ms`, and says which came first. */
const waiting = (timeoutMs: number) =>
  defineOp({
    id: 'test.wait',
    mcpName: 'test_wait',
    title: 'Wait',
    description: 'Waits.',
    input: z.object({ ms: z.number() }),
    output: z.object({ waited: z.boolean() }),
    annotations: readOnly,
    policy: { minRole: 'viewer', needsApproval: false, timeoutMs },
    async run(ctx, { ms }) {
      await sleep(ms, undefined, { signal: ctx.signal });
      return { waited: true };
    },
  });

describe('invoke: the op deadline', () => {
  const { home, cleanup } = tempHome('twl-invoke-');
  const runtime = testRuntime(home);
  (runtime as unknown as { recordCall: () => void }).recordCall = () => undefined;
  afterAll(() => cleanup());

  it('aborts the op with a TimeoutError naming it when its policy timeout passes', async () => {
    const err = (await invoke(waiting(50), runtime, { ms: 5_000 }).catch((e: unknown) => e)) as Error;
    expect(err.name).toBe('AbortError');
    expect(err.cause).toMatchObject({ name: 'TimeoutError', message: 'test_wait did not finish within 50 ms.' });
  });

  it('passes the caller’s cancellation through as well', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('cancelled by the caller')), 30);
    await expect(invoke(waiting(10_000), runtime, { ms: 5_000 }, { signal: controller.signal })).rejects.toThrow();
  });
});

describe('invoke: Prometheus series', () => {
  const { home, cleanup } = tempHome('twl-invoke-metrics-');
  const runtime = testRuntime(home);
  (runtime as unknown as { recordCall: () => void }).recordCall = () => undefined;
  afterAll(() => cleanup());

  it('counts calls, outcomes and latency once the metrics module is loaded (as twl serve loads it)', async () => {
    const { registry } = await import('../../../src/runtime/metrics.js');
    await invoke(waiting(1000), runtime, { ms: 1 });
    await invoke(waiting(20), runtime, { ms: 1000 }).catch(() => undefined);
    const text = await registry.metrics();
    expect(text).toMatch(/^agent_calls_total\{agent_name="test",capability="test\.wait"\} 2$/m);
    expect(text).toMatch(/^agent_execution_total\{agent_name="test",status="success"\} 1$/m);
    expect(text).toMatch(/^agent_execution_total\{agent_name="test",status="error"\} 1$/m);
    expect(text).toMatch(/^agent_latency_seconds_count\{agent_name="test"\} 2$/m);
  });
});
