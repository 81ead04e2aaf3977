import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { invoke } from '../../src/ops/invoke.js';
import containersOp from '../../src/ops/monitoring/containers.js';
import healthOp from '../../src/ops/monitoring/health.js';
import logsOp from '../../src/ops/monitoring/logs.js';
import metricsOp from '../../src/ops/monitoring/metrics.js';
import llmStatusOp from '../../src/ops/llm/status.js';
import llmModelsOp from '../../src/ops/llm/models.js';
import type { Runtime } from '../../src/runtime/context.js';
import { registry } from '../../src/runtime/metrics.js';
import { FakeDockerEngine } from '../fixtures/docker-engine.js';
import { FakeOllama } from '../fixtures/ollama-server.js';
import { POSTGRES_URL, REDIS_URL, STALL_BOUND_MS, hasPostgres, hasRedis, stalledDuring, tempHome, testRuntime } from '../helpers.js';

describe('monitoring', () => {
  let home: string;
  let cleanup: () => void;
  let docker: FakeDockerEngine;
  let ollama: FakeOllama;
  let runtime: Runtime;

  beforeAll(async () => {
    ({ home, cleanup } = tempHome('twl-monitoring-'));
    docker = await new FakeDockerEngine(path.join(home, 'docker.sock')).start();
    ollama = await new FakeOllama().start();
    runtime = testRuntime(home, {
      docker: { socket: docker.socket },
      llm: { host: ollama.url, model: 'llama3.1:8b', timeout: '5s' },
      services: [
        { name: 'web-container', kind: 'container', target: 'web' },
        { name: 'worker-container', kind: 'container', target: 'worker' },
        { name: 'closed-port', kind: 'tcp', target: '127.0.0.1:1', timeout: '1s' },
        { name: 'this-node', kind: 'process', target: 'node' },
        ...(hasPostgres ? [{ name: 'pg', kind: 'postgres' as const, target: POSTGRES_URL }] : []),
        ...(hasRedis ? [{ name: 'redis', kind: 'redis' as const, target: REDIS_URL }] : []),
        { name: 'pg-with-password', kind: 'postgres', target: 'postgres://ops:hunter2@127.0.0.1:1/x', timeout: '1s' },
      ],
    });
  });
  afterAll(async () => {
    await runtime.close();
    await docker.stop();
    await ollama.stop();
    cleanup();
  });

  it('checks each kind of service and twl\'s dependencies, worst status overall', async () => {
    const r = await invoke(healthOp, runtime, {});
    const byName = Object.fromEntries(r.services.map((s: { name: string }) => [s.name, s]));
    expect(byName['web-container']).toMatchObject({ status: 'ok', detail: 'running' });
    expect(byName['worker-container']).toMatchObject({ status: 'down', detail: 'container worker is exited' });
    expect(byName['closed-port']).toMatchObject({ status: 'down', detail: expect.stringMatching(/ECONNREFUSED/) });
    expect(byName['this-node']).toMatchObject({ status: 'ok' });
    if (hasPostgres) expect(byName.pg).toMatchObject({ status: 'ok', detail: 'answers SELECT 1' });
    if (hasRedis) expect(byName.redis).toMatchObject({ status: 'ok', detail: 'PING → PONG' });
    expect(byName['pg-with-password']).toMatchObject({ status: 'down', target: 'postgres://ops:***@127.0.0.1:1/x' });
    expect(JSON.stringify(r)).not.toContain('hunter2');
    expect(r.dependencies.map((d: { name: string; status: string }) => [d.name, d.status])).toEqual([
      ['twl-store', 'ok'],
      ['twl-cache', 'ok'],
      ['llm', 'ok'],
    ]);
    expect(r.status).toBe('down');
    const gauge = await registry.getSingleMetric('service_health')!.get();
    expect(gauge.values.find((v) => v.labels.service === 'worker-container')?.value).toBe(0);
    // twl's own store and cache too (the store/cache alert in deploy/ reads them).
    expect(gauge.values.find((v) => v.labels.service === 'twl-store')).toMatchObject({ value: 1, labels: { kind: 'store' } });
    expect(gauge.values.find((v) => v.labels.service === 'twl-cache')).toMatchObject({ value: 1, labels: { kind: 'cache' } });
  });

  it('checks only the services named, and refuses an unknown one', async () => {
    const r = await invoke(healthOp, runtime, { services: ['web-container'] });
    expect(r).toMatchObject({ status: 'ok', dependencies: [] });
    await expect(invoke(healthOp, runtime, { services: ['nope'] })).rejects.toMatchObject({ code: 'TWL_SERVICE_UNKNOWN' });
  });

  it('lists containers and reads their logs through the engine API', async () => {
    const running = await invoke(containersOp, runtime, {});
    expect(running.containers).toMatchObject([{ name: 'web', image: 'nginx:1.27', ports: ['8080→80/tcp'] }]);
    expect((await invoke(containersOp, runtime, { all: true })).containers).toHaveLength(2);
    const logs = await invoke(logsOp, runtime, { container: 'web', tail: 10, grep: 'timed out|502' });
    expect(logs.lines).toEqual([
      { stream: 'stderr', line: '2026-11-21T08:00:01Z upstream timed out (110: Connection timed out)' },
      { stream: 'stdout', line: '2026-11-21T08:00:02Z GET / 502' },
    ]);
    await expect(invoke(logsOp, runtime, { container: 'ghost' })).rejects.toMatchObject({ code: 'TWL_SERVICE_UNKNOWN', message: expect.stringMatching(/No such container: ghost/) });
  });

  it('a caller\'s grep runs in linear time: a pattern made to backtrack for hours answers, one RE2 cannot run is refused by name', async () => {
    // Nested quantifiers over each ~60-character line without "#": 2^60 steps for a backtracking engine.
    const { value: logs, error, stalledMs } = await stalledDuring(() => invoke(logsOp, runtime, { container: 'web', tail: 10, grep: '^(.+)+#$' }));
    expect(error).toBeUndefined();
    expect(stalledMs).toBeLessThan(STALL_BOUND_MS);
    expect(logs!.lines).toEqual([]);
    await expect(invoke(logsOp, runtime, { container: 'web', grep: '(timed) \\1' })).rejects.toMatchObject({ code: 'TWL_INPUT_INVALID', message: expect.stringMatching(/^grep "\(timed\) \\\\1" cannot be matched in linear time/) });
  });

  it('measures the machine', async () => {
    const m = await invoke(metricsOp, runtime, { top: 3 });
    expect(m.cpu.cores).toBeGreaterThan(0);
    expect(m.memory.totalBytes).toBeGreaterThan(m.memory.availableBytes);
    expect(m.disks.length).toBeGreaterThan(0);
    expect(m.processes).toHaveLength(3);
  });

  it('answers overlapping metrics calls with measured or unknown rates, never NaN (samples take turns)', async () => {
    const all = await Promise.all(Array.from({ length: 4 }, () => invoke(metricsOp, runtime, { top: 1 })));
    for (const m of all) {
      expect(Number.isFinite(m.cpu.usagePercent)).toBe(true);
      for (const n of m.network) for (const r of [n.rxPerSecond, n.txPerSecond]) expect(r === null || Number.isFinite(r)).toBe(true);
    }
  });

  it('reports the LLM and its models', async () => {
    expect(await invoke(llmStatusOp, runtime, {})).toMatchObject({ reachable: true, version: '0.12.0-test', modelInstalled: true });
    expect((await invoke(llmModelsOp, runtime, {})).models).toMatchObject([{ name: 'llama3.1:8b', family: 'llama', parameters: '8.0B' }]);
  });
});

describe('an http check', () => {
  it('says how long it waited for a service that never answers, and reads the body only to match it', async () => {
    const { home, cleanup } = tempHome('twl-http-check-');
    const http = await import('node:http');
    const hanging = http.createServer(() => undefined);
    const answering = http.createServer((_req, res) => res.end('<p>status: ok</p>'));
    for (const s of [hanging, answering]) await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    const port = (s: typeof hanging) => (s.address() as { port: number }).port;
    const runtime = testRuntime(home, {
      services: [
        { name: 'hangs', kind: 'http', target: `http://127.0.0.1:${port(hanging)}/`, timeout: '300ms' },
        { name: 'matches', kind: 'http', target: `http://127.0.0.1:${port(answering)}/`, healthy: { bodyMatch: 'status: ok' } },
        { name: 'mismatches', kind: 'http', target: `http://127.0.0.1:${port(answering)}/`, healthy: { bodyMatch: 'status: degraded' } },
      ],
    });
    try {
      const r = await invoke(healthOp, runtime, { services: ['hangs', 'matches', 'mismatches'] });
      expect(r.services).toMatchObject([
        { name: 'hangs', status: 'down', detail: 'no answer within 300 ms' },
        { name: 'matches', status: 'ok', detail: 'HTTP 200' },
        { name: 'mismatches', status: 'down', detail: 'HTTP 200, but the body does not match /status: degraded/' },
      ]);
    } finally {
      await runtime.close();
      hanging.closeAllConnections();
      for (const s of [hanging, answering]) s.close();
      cleanup();
    }
  });
});
