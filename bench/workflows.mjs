// `npm run bench -- workflows`: what the workflow engine adds per step. A deterministic workflow of
// 20 tool steps (twl's own read-only sentiment op, each input rendered from the previous step's
// output) run as the catalog tool workflow_bench20, against the same 20 calls made in sequence
// through the same catalog in the same process (the baseline), interleaved round by round. The
// workflow's figure includes everything a user gets: input validation, templates, the run and
// step records in the store, metrics. Goal: ≤ 1 ms per step over the baseline.
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';

const TOOL = 'sentiment-analyzer_analyze_sentiment';
const STEPS = 20;

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

function workflowYaml() {
  const steps = Array.from({ length: STEPS }, (_, i) =>
    i === 0
      ? `  - { id: s0, kind: tool, tool: ${TOOL}, input: { text: "{{ input.text }}" } }`
      : `  - { id: s${i}, kind: tool, tool: ${TOOL}, input: { text: "{{ input.text }} {{ steps.s${i - 1}.sentiment }}" } }`,
  );
  return `name: bench20\ninput: { type: object, properties: { text: { type: string } }, required: [text] }\nsteps:\n${steps.join('\n')}\n`;
}

async function backend({ root, label, config, rounds }) {
  const dist = (p) => import(path.join(root, 'dist', 'src', p));
  const [{ validateConfig }, { Runtime }, { createLogger }, { coreOps }, { lazyCatalog }] = await Promise.all([dist('runtime/config.js'), dist('runtime/context.js'), dist('runtime/logger.js'), dist('ops/registry.js'), dist('tools/index.js')]);
  const home = mkdtempSync(path.join(os.tmpdir(), 'twl-bench-wf-'));
  try {
    const file = path.join(home, 'twl.config.json');
    writeFileSync(file, JSON.stringify(config));
    mkdirSync(path.join(home, 'workflows'));
    writeFileSync(path.join(home, 'workflows', 'bench20.yaml'), workflowYaml());
    const loaded = { ...validateConfig({ ...config, home }, undefined, {}), file };
    const runtime = new Runtime(loaded, createLogger('error'), { actor: 'bench', ops: coreOps, tools: (rt) => lazyCatalog(rt, coreOps) });
    const catalog = runtime.tools;
    const options = { face: 'cli', actor: 'bench' };
    const text = 'The checkout page is slow since the deploy, customers complain';
    const direct = async () => {
      let previous = '';
      for (let i = 0; i < STEPS; i++) previous = (await catalog.call(TOOL, { text: i ? `${text} ${previous}` : text }, options)).structured.sentiment;
    };
    const viaWorkflow = async () => {
      const r = await catalog.call('workflow_bench20', { text }, options);
      if (r.structured.status !== 'completed') throw new Error(`the bench workflow ended ${r.structured.status}: ${JSON.stringify(r.structured.error)}`);
    };
    const timed = async (fn) => {
      const started = performance.now();
      await fn();
      return performance.now() - started;
    };
    for (let i = 0; i < 5; i++) {
      await timed(direct);
      await timed(viaWorkflow);
    }
    const base = [];
    const wf = [];
    for (let i = 0; i < rounds; i++) {
      // Alternate which goes first, so drift and caches hit both alike.
      if (i % 2) {
        base.push(await timed(direct));
        wf.push(await timed(viaWorkflow));
      } else {
        wf.push(await timed(viaWorkflow));
        base.push(await timed(direct));
      }
    }
    await runtime.close();
    const b = median(base);
    const w = median(wf);
    return { label, rounds, steps: STEPS, baselineMs: b, workflowMs: w, perStepOverheadMs: (w - b) / STEPS, ratio: w / b };
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

export async function workflows({ root, json, postgresUrl }) {
  const results = [];
  results.push(await backend({ root, label: 'embedded store', config: {}, rounds: 60 }));
  const database = `twl_bench_wf_${randomUUID().slice(0, 8)}`;
  const admin = async (sql) => {
    const client = new pg.Client({ connectionString: postgresUrl });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  let pgReady = false;
  try {
    await admin(`CREATE DATABASE ${database}`);
    pgReady = true;
  } catch (err) {
    if (!json) console.error(`PostgreSQL at ${postgresUrl} is not reachable (${err.message}): the PostgreSQL case is skipped.`);
  }
  if (pgReady) {
    try {
      results.push(await backend({ root, label: 'PostgreSQL', config: { database: { url: postgresUrl.replace(/\/[^/]*$/, `/${database}`) } }, rounds: 60 }));
    } finally {
      await admin(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`).catch(() => undefined);
    }
  }
  if (!json) {
    console.log(`\nworkflows — a ${STEPS}-step deterministic workflow (tool steps: ${TOOL}, each input a template over the previous output) vs the same ${STEPS} calls in sequence through the catalog, same process, interleaved; medians`);
    console.log(`${'backend'.padEnd(18)}${'calls ms'.padStart(10)}${'workflow ms'.padStart(13)}${'ratio'.padStart(8)}${'ms/step over'.padStart(14)}   goal`);
    for (const r of results) {
      console.log(`${r.label.padEnd(18)}${r.baselineMs.toFixed(2).padStart(10)}${r.workflowMs.toFixed(2).padStart(13)}${`${r.ratio.toFixed(2)}×`.padStart(8)}${r.perStepOverheadMs.toFixed(3).padStart(14)}   ≤ 1 ms/step ${r.perStepOverheadMs <= 1 ? 'met' : 'MISSED'}`);
    }
  }
  return results;
}
