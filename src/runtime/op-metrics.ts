/**
 * Where invoke() counts op calls, without loading prom-client: the Prometheus series live in
 * ./metrics.ts, which connects itself here when it loads. A process that exposes metrics
 * (twl serve: /metrics) loads it at start; a plain CLI call, whose counters nobody could read,
 * never does, and skips the cost of loading prom-client.
 */
export interface OpMetricsSink {
  called(agent: string, capability: string): void;
  finished(agent: string, ok: boolean, seconds: number): void;
  /** A workflow run ended (workflow_runs_total). */
  workflowRun?(workflow: string, status: string): void;
  /** A workflow step ended (workflow_step_duration_seconds; step = its id path). */
  workflowStep?(workflow: string, step: string, seconds: number): void;
}

let sink: OpMetricsSink | undefined;

export function connectOpMetrics(target: OpMetricsSink): void {
  sink = target;
}

export const opMetrics: OpMetricsSink = {
  called: (agent, capability) => sink?.called(agent, capability),
  finished: (agent, ok, seconds) => sink?.finished(agent, ok, seconds),
  workflowRun: (workflow, status) => sink?.workflowRun?.(workflow, status),
  workflowStep: (workflow, step, seconds) => sink?.workflowStep?.(workflow, step, seconds),
};
