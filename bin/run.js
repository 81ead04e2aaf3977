#!/usr/bin/env node
// twl entry point. Kept tiny: `--version` and root `--help` are answered from files written
// at build time, so they never load oclif; everything else goes through oclif.
import module from 'node:module';
import { existsSync, readFileSync } from 'node:fs';

const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 13)) {
  process.stderr.write(
    `twl needs Node.js >= 22.13, and this is ${process.version}.\n` +
      'Run `npm ci` in the twl checkout: it installs the pinned Node.js 24 that the `twl` command (bin/twl) runs on. Or install Node.js 22.13 or newer.\n',
  );
  process.exit(1);
}
module.enableCompileCache?.();
// A reader that stops early (`twl ticket export | head`) closes the pipe: that ends the output,
// as for any Unix tool, not an error to print. Other stdout errors stay errors.
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});

const args = process.argv.slice(2);
const only = args.length === 1 ? args[0] : undefined;
// Plugins a user installed (oclif keeps them in the data dir) change the root help: then let oclif render it.
const home = process.env.HOME ?? '';
const userPlugins = `${process.env.TWL_DATA_DIR ?? `${process.env.XDG_DATA_HOME || `${home}/.local/share`}/twl`}/package.json`;
const read = (name) => {
  try {
    return readFileSync(new URL(`../dist/${name}`, import.meta.url), 'utf8');
  } catch {
    return undefined;
  }
};

if (only === '--version' || only === '-v') {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  process.stdout.write(`${pkg.name}/${pkg.version} ${process.platform}-${process.arch} node-${process.version}\n`);
} else if ((args.length === 0 || only === '--help' || only === '-h' || only === 'help') && !process.env.OCLIF_COLUMNS &&
  (!process.stdout.isTTY || process.stdout.columns >= 80) && read('root-help.txt') !== undefined && !existsSync(userPlugins)) {
  process.stdout.write(read('root-help.txt').replace(/node-v[\d.]+/, `node-${process.version}`));
} else {
  const { execute } = await import('@oclif/core');
  await execute({ dir: import.meta.url });
}
