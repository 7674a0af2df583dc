// Writes the default multi-task suite: public/data/suite/train.jsonl, validation.jsonl and
// README.md (the card), from scripts/suite.ts with its seed. Deterministic: rerunning gives the
// same bytes (tests/default.test.ts regenerates the suite and compares with the committed files).
//
//   node scripts/make_suite.mjs [--seed N] [--out DIR]
//
// scripts/suite.ts is TypeScript: it is bundled with esbuild (a devDependency) into a temporary
// module first, so plain Node runs it.
import { build } from 'esbuild';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const root = resolve(import.meta.dirname, '..');
const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : fallback;
};

const tmp = mkdtempSync(join(tmpdir(), 'mor1e-suite-'));
let suite;
try {
  const outfile = join(tmp, 'suite.mjs');
  await build({ entryPoints: [join(root, 'scripts', 'suite.ts')], outfile, bundle: true, platform: 'node', format: 'esm', target: 'node20', logLevel: 'warning' });
  suite = await import(pathToFileURL(outfile).href);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}

const seed = Number(arg('--seed', suite.SUITE_SEED));
const out = resolve(arg('--out', join(root, 'public', 'data', 'suite')));
const { train, validation } = suite.generateSuite({ seed });
mkdirSync(out, { recursive: true });
writeFileSync(join(out, 'train.jsonl'), suite.toJsonl(train));
writeFileSync(join(out, 'validation.jsonl'), suite.toJsonl(validation));
writeFileSync(join(out, 'README.md'), suite.suiteCard({ seed, train, validation }));
console.log(`wrote ${out}: ${train.length} training rows, ${validation.length} validation rows, ${suite.SUITE_TASKS.length} tasks (seed ${seed})`);
