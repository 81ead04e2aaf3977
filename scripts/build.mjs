// Build: compile TypeScript, copy the SQL migrations, write the oclif manifest, and cache
// the root help text (bin/run.js prints it without loading oclif).
import { cpSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

const run = (cmd, args, options = {}) => execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'], ...options });

rmSync('dist', { recursive: true, force: true });
run('tsc', ['-p', 'tsconfig.build.json']);
cpSync('src/store/migrations', 'dist/src/store/migrations', { recursive: true });
run('oclif', ['manifest']);
const help = run('node', ['bin/run.js', '--help'], { env: { ...process.env, OCLIF_COLUMNS: '80', NO_COLOR: '1', FORCE_COLOR: '0' } });
writeFileSync('dist/root-help.txt', help);
console.error('built: dist/, oclif.manifest.json, dist/root-help.txt');
