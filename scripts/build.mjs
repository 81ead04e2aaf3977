// Build: compile TypeScript, bundle the vendored dependencies (src/vendor/), copy the SQL migrations, write the oclif manifest, and cache
// the root help text (bin/run.js prints it without loading oclif).
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { execFileSync } from 'node:child_process';

const run = (cmd, args, options = {}) => execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'], ...options });

rmSync('dist', { recursive: true, force: true });
run('tsc', ['-p', 'tsconfig.build.json']);
// Dependencies made of many small CommonJS files load far faster as one bundle (see src/vendor/).
const { build } = await import('esbuild');
await build({
  entryPoints: ['src/vendor/redis.ts', 'src/vendor/prom-client.ts'],
  outdir: 'dist/src/vendor',
  // What the bundles share (@opentelemetry/api) goes to one chunk, loaded once.
  splitting: true,
  chunkNames: 'chunk-[hash]',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node22',
  // The bundled CommonJS code calls require() for Node's own modules: give it one.
  banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
  // Less to parse on every start (the Redis client is over a megabyte as written).
  minify: true,
  legalComments: 'linked',
  logLevel: 'warning',
});
cpSync('src/store/migrations', 'dist/src/store/migrations', { recursive: true });
cpSync('src/agents/triage/data', 'dist/src/agents/triage/data', { recursive: true });
run('oclif', ['manifest']);
// oclif lists commands in directory-read order, which differs between checkouts: sort them
// so the committed manifest is a stable snapshot of the public surface.
const manifest = JSON.parse(readFileSync('oclif.manifest.json', 'utf8'));
manifest.commands = Object.fromEntries(Object.entries(manifest.commands).sort(([a], [b]) => a.localeCompare(b)));
writeFileSync('oclif.manifest.json', `${JSON.stringify(manifest, null, 2)}\n`);
const help = run('node', ['bin/run.js', '--help'], { env: { ...process.env, OCLIF_COLUMNS: '80', NO_COLOR: '1', FORCE_COLOR: '0' } });
writeFileSync('dist/root-help.txt', help);

// The public surface of every op as JSON Schema, committed: a change to a tool's input or
// output (and so to the --json result) shows up as a diff that CI holds to.
const { z } = await import('zod');
rmSync('docs/schemas', { recursive: true, force: true });
mkdirSync('docs/schemas', { recursive: true });
for (const topic of readdirSync('dist/src/ops', { withFileTypes: true }).filter((d) => d.isDirectory())) {
  for (const file of readdirSync(path.join('dist/src/ops', topic.name)).filter((f) => f.endsWith('.js'))) {
    const op = (await import(pathToFileURL(path.resolve('dist/src/ops', topic.name, file)).href)).default;
    if (!op?.mcpName) continue;
    const schema = { tool: op.mcpName, id: op.id, annotations: op.annotations, policy: op.policy, input: z.toJSONSchema(op.input, { io: 'input' }), output: z.toJSONSchema(op.output) };
    writeFileSync(path.join('docs/schemas', `${op.mcpName}.json`), `${JSON.stringify(schema, null, 2)}\n`);
  }
}
console.error('built: dist/, oclif.manifest.json, dist/root-help.txt, docs/schemas/');
