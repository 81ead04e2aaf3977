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

export const workflowRuns = new client.Counter({
  name: 'workflow_runs_total',
  help: 'Workflow runs by workflow and how they ended: completed, failed, stopped, cancelled, waiting_approval.',
  labelNames: ['workflow', 'status'],
  registers: [registry],
});

export const workflowStepDuration = new client.Histogram({
  name: 'workflow_step_duration_seconds',
  help: 'Workflow steps by workflow and step (its id path), whatever their outcome (skipped steps excluded).',
  labelNames: ['workflow', 'step'],
  buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 120],
  registers: [registry],
});

connectOpMetrics({
  called: (agent, capability) => agentCalls.inc({ agent_name: agent, capability }),
  finished: (agent, ok, seconds) => {
    agentExecutions.inc({ agent_name: agent, status: ok ? 'success' : 'error' });
    agentLatency.observe({ agent_name: agent }, seconds);
  },
  workflowRun: (workflow, status) => workflowRuns.inc({ workflow, status }),
  workflowStep: (workflow, step, seconds) => workflowStepDuration.observe({ workflow, step }, seconds),
});

// Upstream MCP servers (src/upstream/): the request path and supervision of each upstream.
export const upstreamQueueWait = new client.Histogram({
  name: 'upstream_queue_wait_seconds',
  help: 'Time an upstream call waited in its upstream\'s queue before being sent.',
  labelNames: ['upstream'],
  buckets: [0.0005, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [registry],
});

export const upstreamChildren = new client.Gauge({
  name: 'upstream_children',
  help: 'Upstream children (stdio processes or HTTP connections) by state: starting, ready, restarting, crash-loop, stopped.',
  labelNames: ['upstream', 'state'],
  registers: [registry],
});

export const upstreamRestarts = new client.Counter({
  name: 'upstream_restarts_total',
  help: 'Upstream children that died or failed to start and were restarted (or put in crash-loop).',
  labelNames: ['upstream'],
  registers: [registry],
});

export const upstreamCache = new client.Counter({
  name: 'upstream_cache_requests_total',
  help: 'Response-cache lookups of read-only upstream tools, by level (l1 memory, l2 Redis or the store) and result (hit, miss).',
  labelNames: ['upstream', 'level', 'result'],
  registers: [registry],
});

export const upstreamBreaker = new client.Gauge({
  name: 'upstream_breaker_state',
  help: 'Circuit breaker of each upstream: 1 for its current state (closed, open, half-open), 0 for the others.',
  labelNames: ['upstream', 'state'],
  registers: [registry],
});

export const upstreamCallDuration = new client.Histogram({
  name: 'upstream_call_duration_seconds',
  help: 'Upstream tool calls sent to the upstream (cache hits excluded), by outcome: ok, tool_error, timeout, error.',
  labelNames: ['upstream', 'outcome'],
  buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  registers: [registry],
});

/**
 * What a task worker's series read at each scrape (the worker in this process, if any): when each
 * of its queue loops last polled, whether its store answers, and whether it is healthy.
 */
export interface WorkerFigures {
  /** Unix milliseconds of each twl queue's last poll (null before the first). */
  lastPolls: Array<{ queue: string; at: number | null }>;
  storeReachable: boolean;
  healthy: boolean;
}

export interface WorkerSeries {
  info: client.Gauge<'worker' | 'queue_backend'>;
  claimed: client.Counter<'queue'>;
  finished: client.Counter<'queue' | 'outcome'>;
  inFlight: client.Gauge<'queue'>;
  duration: client.Histogram<'queue' | 'outcome'>;
}

let worker: { series: WorkerSeries; figures?: () => WorkerFigures } | undefined;

/**
 * The series of `twl worker` (and of `twl serve --worker`), each about this process's worker:
 * registered when the first worker of the process starts, so a process without one exports none
 * (no last-poll time of 0 to alert on). `figures` reads the worker's state at each scrape (the
 * last worker started, when a process runs several).
 */
export function workerSeries(figures: () => WorkerFigures): WorkerSeries {
  const read = () => worker?.figures?.();
  worker ??= {
    series: {
      info: new client.Gauge({
        name: 'twl_worker_info',
        help: 'This task worker: 1, labelled with its name (on executions) and its queue backend (pg-boss on postgres, embedded or embedded-host).',
        labelNames: ['worker', 'queue_backend'],
        registers: [registry],
      }),
      claimed: new client.Counter({ name: 'twl_worker_runs_claimed_total', help: 'Task runs this worker claimed (each attempt counts), by task queue.', labelNames: ['queue'], registers: [registry] }),
      finished: new client.Counter({
        name: 'twl_worker_runs_finished_total',
        help: 'Task runs this worker ended, by task queue and outcome: completed, retried (failed, another attempt queued), failed (for good: retries spent or a permanent error), cancelled.',
        labelNames: ['queue', 'outcome'],
        registers: [registry],
      }),
      inFlight: new client.Gauge({ name: 'twl_worker_runs_in_flight', help: 'Task runs this worker is running now, by task queue.', labelNames: ['queue'], registers: [registry] }),
      duration: new client.Histogram({
        name: 'twl_worker_run_duration_seconds',
        help: 'Time of the task runs this worker ended (the tool or agent call), by task queue and outcome.',
        labelNames: ['queue', 'outcome'],
        buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600],
        registers: [registry],
      }),
    },
  };
  if (!worker.figures) {
    new client.Gauge({
      name: 'twl_worker_last_poll_timestamp_seconds',
      help: "Unix time of this worker's last poll of each task queue (absent before the first). A loop busy with a long run does not poll meanwhile: twl_worker_healthy tells a stall from that.",
      labelNames: ['queue'],
      registers: [registry],
      collect() {
        this.reset();
        for (const p of read()?.lastPolls ?? []) if (p.at !== null) this.set({ queue: p.queue }, p.at / 1000);
      },
    });
    // 1 or 0 from the worker's state at each scrape (nothing before a worker started).
    const flag = (name: string, help: string, pick: (f: WorkerFigures) => boolean) =>
      new client.Gauge({
        name,
        help,
        registers: [registry],
        collect() {
          const f = read();
          if (f) this.set(pick(f) ? 1 : 0);
        },
      });
    flag('twl_worker_store_reachable', "1 while this worker's store (PostgreSQL or the embedded store) answers, 0 while the worker waits for it to come back.", (f) => f.storeReachable);
    flag('twl_worker_healthy', '1 when this worker answers /healthz with 200 (its queue loops poll and its store answers), 0 otherwise.', (f) => f.healthy);
  }
  worker.figures = figures;
  return worker.series;
}
