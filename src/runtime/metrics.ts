import client from '../vendor/prom-client.js';
import { connectOpMetrics } from './op-metrics.js';

/**
 * The seed's Prometheus series, in one registry per process (`twl serve --http` exposes it
 * at /metrics). Counting is cheap and always on.
 */
export const registry = new client.Registry();

let processMetrics = false;
/**
 * The process's CPU, memory, event-loop lag and heap (process_*, nodejs_*): the infrastructure
 * dashboard's per-replica panels. Started by the process that serves /metrics only (its event-loop
 * monitor is a cost a one-shot CLI call need not pay); idempotent.
 */
export function collectProcessMetrics(): void {
  if (processMetrics) return;
  processMetrics = true;
  client.collectDefaultMetrics({ register: registry });
}

export const maestroDecisions = new client.Counter({
  name: 'maestro_decisions_total',
  help: 'Decisions Maestro made, by type (plan, step, approval, resolve, escalate, llm_tool_call, fallback).',
  labelNames: ['decision_type'],
  registers: [registry],
});

export const maestroActiveWorkflows = new client.Gauge({
  name: 'maestro_active_workflows',
  help: 'Ticket workflows running now in this process.',
  registers: [registry],
});

export const agentCalls = new client.Counter({
  name: 'agent_calls_total',
  help: 'Op calls by agent and capability.',
  labelNames: ['agent_name', 'capability'],
  registers: [registry],
});

export const agentExecutions = new client.Counter({
  name: 'agent_execution_total',
  help: 'Op executions by agent and outcome.',
  labelNames: ['agent_name', 'status'],
  registers: [registry],
});

export const agentLatency = new client.Histogram({
  name: 'agent_latency_seconds',
  help: 'Op latency by agent.',
  labelNames: ['agent_name'],
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  registers: [registry],
});

export const serviceHealth = new client.Gauge({
  name: 'service_health',
  help: 'Health of each configured service at its last check: 1 ok, 0.5 degraded, 0 down.',
  labelNames: ['service', 'kind'],
  registers: [registry],
});

export const httpRequestDuration = new client.Histogram({
  name: 'http_request_duration_seconds',
  help: 'HTTP requests served by twl serve --http, by method, route and status.',
  labelNames: ['method', 'route', 'status'],
  buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [registry],
});

export const mcpSessions = new client.Gauge({
  name: 'mcp_active_sessions',
  help: 'MCP sessions open on twl serve --http.',
  registers: [registry],
});

export const mcpCalls = new client.Counter({
  name: 'mcp_tool_calls_total',
  help: 'MCP tool calls by tool and status.',
  labelNames: ['tool', 'status'],
  registers: [registry],
});

connectOpMetrics({
  called: (agent, capability) => agentCalls.inc({ agent_name: agent, capability }),
  finished: (agent, ok, seconds) => {
    agentExecutions.inc({ agent_name: agent, status: ok ? 'success' : 'error' });
    agentLatency.observe({ agent_name: agent }, seconds);
  },
});
