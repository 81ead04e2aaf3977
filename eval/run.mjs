// `npm run eval`: accuracy per label and macro-F1 of the rule-based triage (no LLM) on the
// held-out evaluation set eval/tickets.jsonl, which never enters training.
// `npm run eval -- --cv 5`: k-fold cross-validation on the training corpus instead — the
// only figures the weights in src/agents/triage/engine.ts may be tuned on.
import { existsSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';

const root = new URL('..', import.meta.url);
if (!existsSync(new URL('dist/src/agents/triage/engine.js', root))) spawnSync('npm', ['run', 'build'], { stdio: 'inherit', cwd: root });
const { classify, train, parseCorpus, trainingCorpusPath, defaultModels } = await import(new URL('dist/src/agents/triage/engine.js', root).href);
const { categories, priorities, sentiments, urgencies } = await import(new URL('dist/src/agents/triage/taxonomy.js', root).href);

const { values } = parseArgs({ options: { cv: { type: 'string' }, json: { type: 'boolean', default: false }, errors: { type: 'string', default: '0' } } });
const labels = { category: categories, priority: priorities, sentiment: sentiments, urgency: urgencies };

function score(pairs, classes) {
  const correct = pairs.filter(([t, p]) => t === p).length;
  const f1s = classes.map((c) => {
    const tp = pairs.filter(([t, p]) => t === c && p === c).length;
    const fp = pairs.filter(([t, p]) => t !== c && p === c).length;
    const fn = pairs.filter(([t, p]) => t === c && p !== c).length;
    const precision = tp + fp ? tp / (tp + fp) : 0;
    const recall = tp + fn ? tp / (tp + fn) : 0;
    return { label: c, support: tp + fn, f1: precision + recall ? (2 * precision * recall) / (precision + recall) : 0 };
  });
  const present = f1s.filter((f) => f.support > 0);
  return { accuracy: correct / pairs.length, macroF1: present.reduce((s, f) => s + f.f1, 0) / present.length, perLabel: f1s };
}

function evaluate(tickets, models) {
  const predicted = tickets.map((t) => {
    const c = classify(t.text, models);
    return { category: c.category, priority: c.priority, sentiment: c.sentiment.sentiment, urgency: c.sentiment.urgency, needsHuman: c.needsHuman };
  });
  const results = {};
  for (const [name, classes] of Object.entries(labels)) results[name] = score(tickets.map((t, i) => [t[name], predicted[i][name]]), classes);
  return { results, predicted };
}

const training = parseCorpus(readFileSync(trainingCorpusPath, 'utf8'), 'training corpus');
let report;
let title;
if (values.cv) {
  const k = Number(values.cv);
  const folds = Array.from({ length: k }, () => []);
  training.forEach((t, i) => folds[i % k].push(t));
  const all = { category: [], priority: [], sentiment: [], urgency: [] };
  for (let f = 0; f < k; f++) {
    const models = train(folds.filter((_, j) => j !== f).flat());
    const { predicted } = evaluate(folds[f], models);
    folds[f].forEach((t, i) => Object.keys(all).forEach((name) => all[name].push([t[name], predicted[i][name]])));
  }
  report = Object.fromEntries(Object.entries(labels).map(([name, classes]) => [name, score(all[name], classes)]));
  title = `${k}-fold cross-validation on the training corpus (${training.length} tickets)`;
} else {
  const tickets = parseCorpus(readFileSync(new URL('eval/tickets.jsonl', root), 'utf8'), 'evaluation set');
  const trainingTexts = new Set(training.map((t) => t.text));
  const leaked = tickets.filter((t) => trainingTexts.has(t.text));
  if (leaked.length) throw new Error(`${leaked.length} evaluation tickets are also in the training corpus: the evaluation would be meaningless.`);
  const { results, predicted } = evaluate(tickets, defaultModels());
  report = results;
  const fr = tickets.filter((t) => t.lang === 'fr').length;
  title = `held-out evaluation set: ${tickets.length} tickets (${fr} French, ${tickets.length - fr} English), rule-based triage, no LLM; trained on ${training.length}`;
  const human = predicted.filter((p) => p.needsHuman).length;
  title += `\n${human} marked for a human (low category confidence)`;
  const show = Number(values.errors);
  if (show) {
    let shown = 0;
    tickets.forEach((t, i) => {
      if (shown < show && t.category !== predicted[i].category) {
        shown++;
        console.log(`✗ ${t.category} → ${predicted[i].category}: ${t.text.slice(0, 110)}`);
      }
    });
  }
}

if (values.json) console.log(JSON.stringify({ title, report }, null, 2));
else {
  console.log(`\n${title}\n`);
  console.log(`${'label'.padEnd(11)}${'accuracy'.padStart(10)}${'macro-F1'.padStart(10)}   per-label F1`);
  for (const [name, r] of Object.entries(report)) {
    console.log(`${name.padEnd(11)}${`${(r.accuracy * 100).toFixed(1)}%`.padStart(10)}${r.macroF1.toFixed(3).padStart(10)}   ${r.perLabel.map((p) => `${p.label} ${p.f1.toFixed(2)}`).join(', ')}`);
  }
  const goals = { category: 0.85, priority: 0.75, sentiment: 0.8 };
  console.log(`\ngoals (accuracy): ${Object.entries(goals).map(([n, g]) => `${n} ≥ ${g * 100}% ${report[n].accuracy >= g ? 'met' : 'MISSED'}`).join(', ')}`);
}
