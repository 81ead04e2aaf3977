import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { envelope, freePort, root, startHttpServe, startWorker, tempHome, twl } from '../helpers.js';

// A real Prometheus (Debian's) scraping a running `twl serve --http` and a `twl worker --metrics`,
// and every PromQL expression shipped in deploy/ (alert rules, Grafana dashboards) checked against
// the series that twl, after creating, resolving and escalating tickets and after the worker
// completed one task run and failed another, really exports.

const PROMETHEUS = '/usr/bin/prometheus';
const hasPrometheus = existsSync(PROMETHEUS);
if (!hasPrometheus && process.env.CI === 'true') throw new Error('prometheus is missing, and CI=true requires it: apt-get install prometheus (see .ci/run)');
const observability = path.join(root, 'deploy', 'k8s', 'base', 'observability');
const REVISION = '2026-07-28';

/** Series Prometheus itself records about a scrape: allowed beside twl's own. */
const PROMETHEUS_SERIES = new Set(['up']);
const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'and', 'or', 'unless', 'bool', 'offset', 'inf', 'nan']);

/** The metric names an expression selects: identifiers that are not functions, keywords, labels or strings. */
export function metricNames(expr: string): string[] {
  const s = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = new Set<string>();
  for (const m of s.matchAll(/(?<![\w.])[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    if (/^\s*\(/.test(s.slice(m.index + m[0].length)) || KEYWORDS.has(m[0].toLowerCase())) continue;
    names.add(m[0]);
  }
  return [...names];
}

/** Every expression shipped: alert rules and dashboard panels, with where it comes from. */
function shippedExpressions(): Array<{ where: string; expr: string }> {
  const out: Array<{ where: string; expr: string }> = [];
  const rules = YAML.parse(readFileSync(path.join(observability, 'twl-rules.yml'), 'utf8')) as { groups: Array<{ rules: Array<{ alert: string; expr: string }> }> };
  for (const g of rules.groups) for (const r of g.rules) out.push({ where: `rule ${r.alert}`, expr: r.expr });
  for (const file of readdirSync(path.join(observability, 'dashboards'))) {
    const dash = JSON.parse(readFileSync(path.join(observability, 'dashboards', file), 'utf8')) as { panels: Array<{ title: string; targets: Array<{ expr: string }> }> };
    for (const p of dash.panels) for (const t of p.targets) out.push({ where: `${file}: ${p.title}`, expr: t.expr });
  }
  return out;
}

describe('PromQL names', () => {
  it('finds the metric names of an expression and nothing else', () => {
    expect(metricNames('histogram_quantile(0.95, sum by (le, agent_name) (rate(agent_latency_seconds_bucket{job="twl",x=~"a|b"}[5m])))')).toEqual(['agent_latency_seconds_bucket']);
    expect(metricNames('sum(rate(a_total{status=~"5.."}[5m])) / sum(rate(b_total[5m])) > 0.05')).toEqual(['a_total', 'b_total']);
    expect(metricNames('delta(sum(max by (status) (twl_tickets{job="twl"}))[1h:1m])')).toEqual(['twl_tickets']);
    expect(metricNames('up{job="twl"} == 0 and on (instance) other_series')).toEqual(['up', 'other_series']);
  });
});

describe.skipIf(!hasPrometheus)('Prometheus scraping twl serve --http', () => {
  let home: string;
  let cleanup: () => void;
  let serve: { child: ReturnType<typeof execa>; url: string };
  let worker: { child: ReturnType<typeof execa>; metricsUrl?: string } | undefined;
  let key: string;
  let prometheus: ResultPromise;
  let promUrl: string;
  let exported: Set<string>;

  const api = (tool: string, body: unknown) => fetch(`${serve.url}/api/tools/${tool}`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });

  beforeAll(async () => {
    ({ home, cleanup } = tempHome('twl-prom-'));
    // A runbook with a read-only step, so one ticket is resolved (and one, with none, escalated).
    writeFileSync(path.join(home, '.twlrc.json'), JSON.stringify({ runbooks: [{ name: 'cache check', when: { keywords: ['cache'] }, steps: [{ tool: 'cache_cache_stats' }], resolution: 'The cache answers.' }] }));
    const keyCreated = await twl(['keys', 'create', '--role', 'admin', '--name', 'prometheus', '--json'], { home });
    expect(keyCreated.exitCode, `${keyCreated.stdout}\n${keyCreated.stderr}`).toBe(0);
    key = (envelope(keyCreated.stdout).result as { key: string }).key;
    serve = await startHttpServe(home, [], { TWL_CONFIG: path.join(home, '.twlrc.json') });
    // The work the dashboards show: tickets created, one resolved, one escalated, an MCP tool call, /health.
    const created = await Promise.all(['Please check the cache, the dashboard shows stale data', 'Disk full on the web server, /var is at 100%', 'Merci, tout marche très bien maintenant'].map(async (text) => ((await (await api('tickets_create_ticket', { text })).json()) as { result: { id: number } }).result.id));
    const resolve = async (id: number | undefined) => JSON.stringify(await (await api('real-resolver_resolve_ticket', { ticket_id: id })).json());
    expect(await resolve(created[0])).toContain('"outcome":"resolved"');
    expect(await resolve(created[1])).toContain('"outcome":"escalated"');
    expect((await api('real-classifier_classify_ticket', { ticket_id: created[2] })).status).toBe(200);
    expect((await api('sentiment-analyzer_analyze_sentiment', { text: 'this is broken again' })).status).toBe(200);
    const mcp = await fetch(`${serve.url}/mcp`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': REVISION, 'mcp-method': 'tools/call', 'mcp-name': 'sentiment-analyzer_analyze_sentiment' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'sentiment-analyzer_analyze_sentiment', arguments: { text: 'great' }, _meta: { 'io.modelcontextprotocol/protocolVersion': REVISION, 'io.modelcontextprotocol/clientInfo': { name: 't', version: '1' }, 'io.modelcontextprotocol/clientCapabilities': {} } } }),
    });
    expect(mcp.status).toBe(200);
    expect((await fetch(`${serve.url}/health`, { headers: { authorization: `Bearer ${key}` } })).status).toBe(200);
    // A worker (sharing the embedded store serve hosts) runs two tasks: one completes, one fails.
    worker = await startWorker(home, 'prom-worker', { TWL_CONFIG: path.join(home, '.twlrc.json') }, ['--metrics', '127.0.0.1:0']);
    expect(worker.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const tasks = await Promise.all(
      [{ tool: 'sentiment-analyzer_analyze_sentiment', input: { text: 'all good' } }, { tool: 'tickets_get_ticket', input: { id: 999_999 } }].map(async (t) => {
        const res = await api('task_create', { ...t, now: true, retries: 0 });
        expect(res.status).toBe(200);
        return ((await res.json()) as { result: { task: { id: number } } }).result.task.id;
      }),
    );
    const statusOf = async (id: number) => ((await (await api('task_show', { id })).json()) as { result: { task: { status: string } } }).result.task.status;
    const settled = (statuses: string[]) => statuses[0] === 'completed' && ['failed', 'dead_letter'].includes(statuses[1]!);
    let statuses = await Promise.all(tasks.map(statusOf));
    for (const deadline = Date.now() + 60_000; !settled(statuses) && Date.now() < deadline; statuses = await Promise.all(tasks.map(statusOf))) await new Promise((r) => setTimeout(r, 250));
    expect(statuses).toEqual(['completed', expect.stringMatching(/^(failed|dead_letter)$/)]);
    const metrics = await (await fetch(`${serve.url}/metrics`, { headers: { authorization: `Bearer ${key}` } })).text();
    const workerMetrics = await (await fetch(`${worker.metricsUrl}/metrics`)).text();
    // Names with at least one sample (a family declared without samples does not count), of serve or the worker.
    exported = new Set(`${metrics}\n${workerMetrics}`.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(l)![0]));
    // serve runs no worker: the worker's own series are the worker's only.
    expect(metrics).not.toMatch(/^twl_worker_/m);

    // Prometheus, as shipped for Compose, with twl's address, a 1 s scrape and the key file here.
    const dir = path.join(home, 'prometheus');
    mkdirSync(path.join(dir, 'rules'), { recursive: true });
    writeFileSync(path.join(dir, 'twl-key'), key);
    writeFileSync(path.join(dir, 'rules', 'twl-rules.yml'), readFileSync(path.join(observability, 'twl-rules.yml')));
    const config = YAML.parse(readFileSync(path.join(root, 'deploy', 'prometheus', 'prometheus.yml'), 'utf8')) as {
      global: Record<string, string>;
      rule_files: string[];
      scrape_configs: Array<{ job_name: string; authorization: { credentials_file: string }; static_configs: unknown; dns_sd_configs?: unknown }>;
    };
    config.global.scrape_interval = '1s';
    config.global.evaluation_interval = '1s';
    config.rule_files = [path.join(dir, 'rules', '*.yml')];
    const twlJob = config.scrape_configs.find((j) => j.job_name === 'twl')!;
    twlJob.authorization.credentials_file = path.join(dir, 'twl-key');
    twlJob.static_configs = [{ targets: [serve.url.replace('http://', '')] }];
    // The workers' job as shipped, the Compose service's DNS name swapped for this worker's address.
    const workerJob = config.scrape_configs.find((j) => j.job_name === 'twl-worker')!;
    delete workerJob.dns_sd_configs;
    workerJob.static_configs = [{ targets: [worker.metricsUrl!.replace('http://', '')] }];
    config.scrape_configs = [twlJob, workerJob];
    writeFileSync(path.join(dir, 'prometheus.yml'), YAML.stringify(config));
    const port = await freePort();
    promUrl = `http://127.0.0.1:${port}`;
    prometheus = execa(PROMETHEUS, [`--config.file=${path.join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${path.join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`], { reject: false });
  });
  afterAll(async () => {
    prometheus?.kill('SIGTERM');
    worker?.child.kill('SIGTERM');
    serve?.child.kill('SIGTERM');
    await Promise.all([prometheus, worker?.child, serve?.child]);
    cleanup?.();
  });

  const query = async (q: string) => {
    const res = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(q)}`);
    return (await res.json()) as { status: string; error?: string; data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } };
  };

  it("reads twl's series back through Prometheus's HTTP API", async () => {
    let up: Awaited<ReturnType<typeof query>> | undefined;
    for (let i = 0; i < 60; i++) {
      up = await query('up{job="twl"}').catch(() => undefined);
      if (up?.data.result[0]?.value[1] === '1') break;
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(up?.data.result[0]?.value[1]).toBe('1');
    const calls = await query('sum by (agent_name) (agent_calls_total{job="twl"})');
    const byAgent = Object.fromEntries(calls.data.result.map((r) => [r.metric.agent_name, Number(r.value[1])]));
    expect(byAgent.tickets).toBeGreaterThanOrEqual(3);
    expect(byAgent['sentiment-analyzer']).toBeGreaterThanOrEqual(2);
    const tickets = await query('sum(twl_tickets{job="twl"})');
    expect(Number(tickets.data.result[0]?.value[1])).toBe(3);
    const escalated = await query('twl_ticket_escalations{job="twl"}');
    expect(Number(escalated.data.result[0]?.value[1])).toBe(1);
    const resolved = await query('twl_tickets_resolved_24h{job="twl"}');
    expect(Number(resolved.data.result[0]?.value[1])).toBe(1);
    const mcp = await query('sum(mcp_tool_calls_total{job="twl",tool="sentiment-analyzer_analyze_sentiment",status="ok"})');
    expect(Number(mcp.data.result[0]?.value[1])).toBe(1);
    // The worker's runs, read from the store by serve.
    const runs = await query('max by (status) (twl_task_executions{job="twl"})');
    expect(Object.fromEntries(runs.data.result.map((r) => [r.metric.status, Number(r.value[1])]))).toEqual({ completed: 1, failed: 1 });
    const taskCount = await query('sum(twl_tasks{job="twl"})');
    expect(Number(taskCount.data.result[0]?.value[1])).toBe(2);
    // The same runs from the worker's own /metrics, scraped by the twl-worker job.
    let workerUp: Awaited<ReturnType<typeof query>> | undefined;
    for (let i = 0; i < 60 && workerUp?.data.result[0]?.value[1] !== '1'; i++) {
      if (i) await new Promise((r) => setTimeout(r, 500));
      workerUp = await query('up{job="twl-worker"}').catch(() => undefined);
    }
    expect(workerUp?.data.result[0]?.value[1]).toBe('1');
    const ended = await query('sum by (outcome) (twl_worker_runs_finished_total{job="twl-worker"})');
    expect(Object.fromEntries(ended.data.result.map((r) => [r.metric.outcome, Number(r.value[1])]))).toEqual({ completed: 1, failed: 1, retried: 0, cancelled: 0 });
    const healthy = await query('twl_worker_healthy{job="twl-worker"}');
    expect(healthy.data.result[0]?.value[1]).toBe('1');
    // The alert rules loaded and evaluate (none fires on a healthy twl).
    const rules = (await (await fetch(`${promUrl}/api/v1/rules`)).json()) as { data: { groups: Array<{ rules: Array<{ name: string; health: string }> }> } };
    const loaded = rules.data.groups.flatMap((g) => g.rules);
    expect(loaded.map((r) => r.name)).toEqual(expect.arrayContaining(['TwlDown', 'TwlHighErrorRate', 'TwlSlowRequests', 'TwlStoreOrCacheDegraded', 'TwlTicketsEscalating', 'TwlTasksFailing', 'TwlTasksDeadLettered', 'TwlWorkerDown', 'TwlWorkerUnhealthy']));
    expect(loaded.every((r) => r.health !== 'err'), JSON.stringify(loaded.filter((r) => r.health === 'err'))).toBe(true);
  });

  it('every expression of the alert rules and dashboards names only series twl exports, and Prometheus evaluates it', async () => {
    const unknown: string[] = [];
    for (const { where, expr } of shippedExpressions()) {
      for (const name of metricNames(expr)) if (!exported.has(name) && !PROMETHEUS_SERIES.has(name)) unknown.push(`${where}: ${name}`);
      const answer = await query(expr);
      expect(answer.status, `${where}: ${answer.error}`).toBe('success');
    }
    expect(unknown).toEqual([]);
  });

  it('the check can fail: a series twl does not export is caught', () => {
    expect(metricNames('rate(agent_calls_totals{job="twl"}[5m])').filter((n) => !exported.has(n))).toEqual(['agent_calls_totals']);
  });
});
