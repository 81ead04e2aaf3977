// `npm run train`: trains the triage model on src/agents/triage/data/*.jsonl (see the README
// there) and writes src/agents/triage/data/model.json, which is committed: `npm ci` and the
// build never train, and a unit test fails when the model is older than its corpus.
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

const root = new URL('..', import.meta.url);
// The trainer is TypeScript: compile it (the build's first step) and run the compiled code.
execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
const { trainingCorpus, corpusFiles, dataDirectory } = await import(new URL('dist/src/agents/triage/engine.js', root).href);
const { trainModel } = await import(new URL('dist/src/agents/triage/train.js', root).href);

const source = new URL('src/agents/triage/data/', root);
const hash = createHash('sha256');
for (const file of corpusFiles) hash.update(readFileSync(new URL(file, source)));
// dist/ may hold an older copy of the corpus: train on the sources.
for (const file of corpusFiles) copyFileSync(new URL(file, source), new URL(file, dataDirectory));
const corpus = trainingCorpus();
const started = performance.now();
const model = trainModel(corpus);
const artifact = model.toArtifact({ tickets: corpus.length, sha256: hash.digest('hex'), files: [...corpusFiles] });
const json = `${JSON.stringify(artifact)}\n`;
writeFileSync(new URL('model.json', source), json);
if (existsSync(dataDirectory)) writeFileSync(new URL('model.json', dataDirectory), json);
const temperatures = Object.entries(artifact.heads).map(([name, h]) => `${name} ${h.temperature}`).join(', ');
console.log(`trained on ${corpus.length} tickets in ${((performance.now() - started) / 1000).toFixed(1)} s: ${artifact.features.length} features, ${(json.length / 1024).toFixed(0)} KiB; temperatures ${temperatures}`);
