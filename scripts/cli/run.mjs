// Runs a CLI command written in TypeScript (scripts/cli/<command>.ts) with plain Node: bundles it
// with esbuild (a devDependency; packages stay external) into node_modules/.cache/mor1e-cli/,
// then calls its main(argv, repoRoot) and exits with the status it returns.
//
//   node scripts/cli/run.mjs finetune [options]      (npm run finetune -- [options])
//   node scripts/cli/run.mjs generate [options]      (npm run generate -- [options])
//   node scripts/cli/run.mjs compare [options]       (npm run compare -- [options])
import { build } from 'esbuild';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const root = resolve(import.meta.dirname, '..', '..');
const [command, ...argv] = process.argv.slice(2);
const commands = ['finetune', 'generate', 'compare'];
if (!commands.includes(command)) {
  process.stderr.write(`usage: node scripts/cli/run.mjs ${commands.join('|')} [options]\n`);
  process.exit(2);
}
const outfile = join(root, 'node_modules', '.cache', 'mor1e-cli', `${command}.mjs`);
await build({
  entryPoints: [join(root, 'scripts', 'cli', `${command}.ts`)],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  logLevel: 'warning',
});
const { main } = await import(pathToFileURL(outfile).href);
process.exit(await main(argv, root));
