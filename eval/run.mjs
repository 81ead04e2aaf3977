// `npm run eval`: how well triage holds on tickets it never saw. For each held-out set
// (eval/tickets.jsonl and, when present, eval/holdout-b.jsonl; see eval/README.md) it prints
// accuracy, macro-F1 and the confusion matrix of each label, and the calibration of the
// confidence (expected calibration error and a reliability table), for the model without an LLM.
//   --cv K           K-fold cross-validation on the hand-written training tickets instead (the
//                    generated ones always train): the only figures anyone may tune on.
//   --check          compare with eval/baseline.json; exit 1 when a held-out figure dropped more
//                    than 3 points below it (the CI regression guard, not a target).
//   --baseline FILE  another baseline file (tests of the guard).
//   --write-baseline record today's held-out figures in eval/baseline.json.
//   --llm            classify through the LLM path (few-shot prompts, taxonomy-constrained,
//                    model fallback): against the configured Ollama when TWL_EVAL_LLM_HOST and
//                    TWL_EVAL_LLM_MODEL are set, else against the Ollama-speaking test server.
//   --json           the figures as JSON.  --errors N  show N misclassified tickets per set.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';

const root = new URL('..', import.meta.url);
if (!existsSync(new URL('dist/src/agents/triage/engine.js', root))) spawnSync('npm', ['run', 'build'], { stdio: 'inherit', cwd: root });
const { classify, trainingCorpus, parseCorpus, defaultModel, humanThreshold, dataDirectory, handwrittenFiles } = await import(new URL('dist/src/agents/triage/engine.js', root).href);
const { trainModel, defaultBuildOptions } = await import(new URL('dist/src/agents/triage/train.js', root).href);
const { heads } = await import(new URL('dist/src/agents/triage/artifact.js', root).href);

const { values } = parseArgs({
  options: { cv: { type: 'string' }, json: { type: 'boolean', default: false }, errors: { type: 'string', default: '0' }, check: { type: 'boolean', default: false }, baseline: { type: 'string' }, 'write-baseline': { type: 'boolean', default: false }, llm: { type: 'boolean', default: false } },
});
const names = Object.keys(heads);
const sets = [
  { name: 'tickets', file: 'eval/tickets.jsonl' },
  { name: 'holdout-b', file: 'eval/holdout-b.jsonl' },
].filter((s) => existsSync(new URL(s.file, root)));
const baselinePath = values.baseline ? new URL(values.baseline, `file://${process.cwd()}/`) : new URL('eval/baseline.json', root);
/** Points a held-out figure may drop below the committed baseline before --check fails. */
const tolerance = 3;
const goals = { category: 0.9, priority: 0.8, sentiment: 0.85, urgency: 0.8 };

function score(pairs, classes) {
  const correct = pairs.filter(([t, p]) => t === p).length;
  const matrix = classes.map((t) => classes.map((p) => pairs.filter(([a, b]) => a === t && b === p).length));
  const f1s = classes.map((c, i) => {
    const tp = matrix[i][i];
    const fp = matrix.reduce((s, row, j) => s + (j === i ? 0 : row[i]), 0);
    const fn = matrix[i].reduce((s, n, j) => s + (j === i ? 0 : n), 0);
    const precision = tp + fp ? tp / (tp + fp) : 0;
    const recall = tp + fn ? tp / (tp + fn) : 0;
    return { label: c, support: tp + fn, f1: precision + recall ? (2 * precision * recall) / (precision + recall) : 0 };
  });
  const present = f1s.filter((f) => f.support > 0);
  return { accuracy: correct / pairs.length, macroF1: present.reduce((s, f) => s + f.f1, 0) / present.length, perLabel: f1s, matrix };
}

/** Expected calibration error over 10 equal-width confidence bins, and the bins themselves. */
function calibration(items) {
  const bins = Array.from({ length: 10 }, (_, i) => ({ from: i / 10, to: (i + 1) / 10, n: 0, confidence: 0, correct: 0 }));
  for (const { confidence, correct } of items) {
    const bin = bins[Math.min(9, Math.floor(confidence * 10))];
    bin.n++;
    bin.confidence += confidence;
    bin.correct += correct ? 1 : 0;
  }
  const ece = bins.reduce((sum, b) => sum + (b.n ? (b.n / items.length) * Math.abs(b.correct / b.n - b.confidence / b.n) : 0), 0);
  return { ece, bins: bins.filter((b) => b.n).map((b) => ({ range: `${b.from.toFixed(1)}–${b.to.toFixed(1)}`, n: b.n, meanConfidence: b.confidence / b.n, accuracy: b.correct / b.n })) };
}

const predictionOf = (c) => ({ category: c.category, priority: c.priority, sentiment: c.sentiment.sentiment, urgency: c.sentiment.urgency, confidence: { category: c.categoryConfidence, priority: c.priorityConfidence, sentiment: c.sentiment.confidence, urgency: c.sentiment.urgencyConfidence }, needsHuman: c.needsHuman, method: c.method, disagreement: c.disagreement });

function figures(tickets, predicted) {
  const report = {};
  for (const name of names) report[name] = { ...score(tickets.map((t, i) => [t[name], predicted[i][name]]), heads[name]), calibration: calibration(tickets.map((t, i) => ({ confidence: predicted[i].confidence[name], correct: t[name] === predicted[i][name] }))) };
  const human = predicted.filter((p) => p.needsHuman);
  const trusted = tickets.filter((_, i) => !predicted[i].needsHuman);
  report.humanHandoff = {
    threshold: humanThreshold,
    marked: human.length,
    accuracyMarked: human.length ? tickets.filter((t, i) => predicted[i].needsHuman && t.category === predicted[i].category).length / human.length : null,
    accuracyTrusted: trusted.length ? trusted.filter((t) => t.category === predicted[tickets.indexOf(t)].category).length / trusted.length : null,
  };
  return report;
}

async function llmClassifier() {
  const { classifyTicket } = await import(new URL('dist/src/agents/triage/llm-classifier.js', root).href);
  const { Llm } = await import(new URL('dist/src/runtime/llm.js', root).href);
  if (process.env.TWL_EVAL_LLM_HOST && process.env.TWL_EVAL_LLM_MODEL) {
    const llm = new Llm(process.env.TWL_EVAL_LLM_HOST, process.env.TWL_EVAL_LLM_MODEL, 120_000);
    return { how: `LLM ${process.env.TWL_EVAL_LLM_MODEL} at ${new URL(process.env.TWL_EVAL_LLM_HOST).host}`, run: (text) => classifyTicket(text, llm), stop: async () => {} };
  }
  // The test server speaks Ollama's protocol but has no model: it answers with the label of
  // the first few-shot example in the prompt (the nearest labelled ticket), and every 10th
  // answer with a category outside the taxonomy. So this run measures the LLM path itself:
  // retrieval of the examples (1-nearest-neighbour accuracy), the taxonomy guard, the
  // fallback and the disagreement record; not a language model's judgement.
  const { FakeOllama } = await import(new URL('test/fixtures/ollama-server.ts', root).href);
  const server = await new FakeOllama().start();
  let n = 0;
  server.onChat((req) => {
    n++;
    const prompt = req.messages.map((m) => m.content).join('\n');
    const example = /"category": ?"(\w+)", ?"priority": ?"(\w+)"/.exec(prompt);
    return { content: JSON.stringify(n % 10 === 0 ? { category: 'printers', priority: 'p1', reason: 'invented' } : { category: example?.[1] ?? 'other', priority: example?.[2] ?? 'low', reason: 'as the nearest example' }) };
  });
  const llm = new Llm(server.url, 'llama3.1:8b', 30_000);
  return { how: 'the Ollama-speaking test server (answers with the nearest example’s labels; every 10th answer invalid)', run: (text) => classifyTicket(text, llm), stop: () => server.stop() };
}

const pct = (x) => `${(x * 100).toFixed(1)}%`;
const results = {};
let cvReport;
if (values.cv) {
  const k = Number(values.cv);
  const file = (name) => parseCorpus(readFileSync(new URL(name, dataDirectory), 'utf8'), name);
  const handwritten = handwrittenFiles.flatMap(file);
  const generated = file('generated.jsonl');
  const predicted = [];
  const truth = [];
  for (let f = 0; f < k; f++) {
    const test = handwritten.filter((_, i) => i % k === f);
    const model = trainModel([...handwritten.filter((_, i) => i % k !== f), ...generated], { ...defaultBuildOptions, calibrationFolds: 0 });
    for (const t of test) {
      truth.push(t);
      predicted.push(predictionOf({ ...classify(t.text, model) }));
    }
  }
  cvReport = { title: `${k}-fold cross-validation on the ${handwritten.length} hand-written training tickets (the ${generated.length} generated ones always train; no calibration)`, report: figures(truth, predicted) };
} else {
  const training = new Set(trainingCorpus().map((t) => t.text));
  const llm = values.llm ? await llmClassifier() : null;
  for (const set of sets) {
    const tickets = parseCorpus(readFileSync(new URL(set.file, root), 'utf8'), set.file);
    const leaked = tickets.filter((t) => training.has(t.text));
    if (leaked.length) throw new Error(`${leaked.length} tickets of ${set.file} are also in the training corpus: the evaluation would be meaningless.`);
    const started = performance.now();
    const predicted = [];
    for (const t of tickets) predicted.push(predictionOf(llm ? await llm.run(t.text) : { ...classify(t.text, defaultModel()), method: 'model' }));
    const fr = tickets.filter((t) => t.lang === 'fr').length;
    const report = figures(tickets, predicted);
    if (llm) {
      report.llm = { answered: predicted.filter((p) => p.method === 'llm').length, fellBack: predicted.filter((p) => p.method !== 'llm').length, disagreed: predicted.filter((p) => p.disagreement).length };
    }
    results[set.name] = { title: `${set.file}: ${tickets.length} tickets (${fr} French, ${tickets.length - fr} English), ${llm ? llm.how : 'model, no LLM'}; ${Math.round(tickets.length / ((performance.now() - started) / 1000))} tickets/s`, report };
    const show = Number(values.errors);
    tickets.forEach((t, i) => {
      if (i < 100000 && show && t.category !== predicted[i].category && show > (results[set.name].shown = (results[set.name].shown ?? 0) + 1) - 1) console.log(`✗ ${t.category} → ${predicted[i].category}: ${t.text.slice(0, 110).replace(/\n/g, ' ')}`);
    });
  }
  if (llm) await llm.stop();
}

function print({ title, report }) {
  console.log(`\n${title}\n`);
  console.log(`${'label'.padEnd(11)}${'accuracy'.padStart(10)}${'macro-F1'.padStart(10)}${'ECE'.padStart(8)}   per-label F1`);
  for (const name of names) {
    const r = report[name];
    console.log(`${name.padEnd(11)}${pct(r.accuracy).padStart(10)}${r.macroF1.toFixed(3).padStart(10)}${r.calibration.ece.toFixed(3).padStart(8)}   ${r.perLabel.map((p) => `${p.label} ${p.f1.toFixed(2)}`).join(', ')}`);
  }
  for (const name of names) {
    const labels = heads[name];
    console.log(`\n${name}: confusion (rows: true label, columns: predicted)`);
    console.log(`${''.padEnd(12)}${labels.map((l) => l.slice(0, 6).padStart(7)).join('')}`);
    report[name].matrix.forEach((row, i) => console.log(`${labels[i].padEnd(12)}${row.map((n) => String(n || '·').padStart(7)).join('')}`));
  }
  console.log('\ncategory confidence: reliability (bin, tickets, mean confidence, accuracy)');
  for (const b of report.category.calibration.bins) console.log(`  ${b.range}  ${String(b.n).padStart(4)}  ${b.meanConfidence.toFixed(2)}  ${pct(b.accuracy)}`);
  const h = report.humanHandoff;
  console.log(`\nbelow ${h.threshold} (for a human): ${h.marked} tickets, ${h.accuracyMarked === null ? '–' : pct(h.accuracyMarked)} right; the rest ${h.accuracyTrusted === null ? '–' : pct(h.accuracyTrusted)} right`);
  if (report.llm) console.log(`LLM answered ${report.llm.answered}, fell back to the model ${report.llm.fellBack}, disagreed with the model ${report.llm.disagreed}`);
  console.log(`goals (accuracy): ${Object.entries(goals).map(([n, g]) => `${n} ≥ ${g * 100}% ${report[n].accuracy >= g ? 'met' : 'MISSED'}`).join(', ')}`);
}

const summary = (report) => Object.fromEntries(names.map((n) => [n, { accuracy: Math.round(report[n].accuracy * 1000) / 10, macroF1: Math.round(report[n].macroF1 * 1000) / 10 }]));
if (values.json) console.log(JSON.stringify(cvReport ?? results, null, 2));
else if (cvReport) print(cvReport);
else for (const r of Object.values(results)) print(r);

if (values['write-baseline'] && !values.llm && !cvReport) {
  const previous = existsSync(baselinePath) ? JSON.parse(readFileSync(baselinePath, 'utf8')) : {};
  const next = { note: 'Held-out figures (percent) of the model without an LLM; npm run eval -- --check fails when one drops more than 3 points below. Rewrite with npm run eval -- --write-baseline after a deliberate change.', sets: { ...previous.sets, ...Object.fromEntries(Object.entries(results).map(([n, r]) => [n, summary(r.report)])) } };
  writeFileSync(baselinePath, `${JSON.stringify(next, null, 2)}\n`);
  console.log(`\nwrote ${baselinePath.pathname}`);
}
if (values.check && !values.llm && !cvReport) {
  const baseline = JSON.parse(readFileSync(baselinePath, 'utf8'));
  const drops = [];
  for (const [set, r] of Object.entries(results)) {
    const base = baseline.sets[set];
    if (!base) continue;
    const now = summary(r.report);
    for (const n of names) for (const metric of ['accuracy', 'macroF1']) if (now[n][metric] < base[n][metric] - tolerance) drops.push(`${set} ${n} ${metric} ${now[n][metric]} < ${base[n][metric]} − ${tolerance}`);
  }
  if (drops.length) {
    console.error(`\nregression against eval/baseline.json:\n  ${drops.join('\n  ')}`);
    process.exit(1);
  }
  console.log('\nno held-out figure dropped more than 3 points below eval/baseline.json');
}
