import { describe, expect, it } from 'vitest';
import { overallStatus, type Health } from '../../../src/agents/monitoring/health.js';

describe('overallStatus', () => {
  const h = (name: string, kind: Health['kind'], status: Health['status']): Health => ({ name, kind, target: 't', status, latencyMs: 1, detail: '' });

  it('is degraded, not down, when only twl\'s own store is down', () => {
    expect(overallStatus([h('web', 'http', 'ok')], [h('twl-store', 'store', 'down'), h('twl-cache', 'cache', 'down')])).toBe('degraded');
  });
  it('is down when a service is down, whatever the dependencies', () => {
    expect(overallStatus([h('web', 'http', 'down')], [h('twl-store', 'store', 'ok')])).toBe('down');
  });
  it('is ok when everything is', () => {
    expect(overallStatus([h('web', 'http', 'ok')], [h('twl-store', 'store', 'ok'), h('llm', 'llm', 'ok')])).toBe('ok');
  });
});
