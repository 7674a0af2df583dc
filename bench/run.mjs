// npm run bench: serves the benchmark page with Vite, drives it in headless Chromium, merges
// the rows into bench/results.json (rows of the benches run now replace their old rows) and
// prints a table. Options: --only matmul,skinny,decode,attention,cross_entropy,safetensors,forward,adapter,data,kmeans,embed,train
// (matmul: ours vs tfjs vs jax-js on the same adapter; skinny: M = 1, 4, 16 matmuls at SmolLM2-135M widths, tiled vs skinny kernel; decode: KV-cache
// generation on the bundled model with the old tiled path and the skinny one)
// ,decode_smollm2 (the same on a SmolLM2-135M-shaped model with random weights; on request only)
// ,kmeans (kmeans_assign: the assignment kernel's variants and tunables, on request only)
// (train: a training step per method on the bundled model, T-REX on it at B = 1, T = 16 (host: the
// step's recording cost, with almost no GPU work), T-REX on a SmolLM2-135M-shaped model with random
// weights, and ours vs jax-js's grad + jit step on tiny-gpt2; --shapes tiny,host,smollm2,peer picks
// parts; each part's tokens/s and FLOP/s as a fraction of our best matmul FLOP/s in the run)
// --shapes 512,1024 (matmul), 1x576x576t,16x1536x576 (skinny) or 1000x384,50000x768 (kmeans: N x d)
// --runs 5  --no-naive  --help
// The adapter: Chromium's hardware WebGPU adapter when it has one, else SwiftShader (CPU);
// MOR1E_REQUIRE_GPU=1 makes a fallback an error, MOR1E_WEBGPU_ADAPTER=hardware|swiftshader forces
// one (scripts/chromium.mjs resolveWebgpuAdapter).
import { chromium } from 'playwright';
import { createServer } from 'vite';
import { mergeRows } from './results.mjs';
import { chromiumArgs, chromiumPath, resolveWebgpuAdapter } from '../scripts/chromium.mjs';

const argv = process.argv.slice(2);
if (argv.includes('--help')) {
  const { readFileSync } = await import('node:fs');
  const head = readFileSync(new URL(import.meta.url), 'utf8').split('\n').filter((l) => l.startsWith('//'));
  console.log(head.map((l) => l.replace(/^\/\/ ?/, '')).join('\n'));
  process.exit(0);
}
const opt = (name, dflt) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : dflt;
};
const runs = Number(opt('runs', 5));
const shapes = opt('shapes', undefined)?.split(',');
const naive = !argv.includes('--no-naive');
const only = opt('only', 'matmul,skinny,decode,attention,cross_entropy,safetensors,forward,adapter,data,kmeans,embed,train').split(',');

// No HMR and no file watching: an edit elsewhere must not reload the page mid-measurement.
const server = await createServer({ server: { port: 0, host: '127.0.0.1', hmr: false, watch: null }, logLevel: 'error' });
await server.listen();
const url = server.resolvedUrls.local[0];
await resolveWebgpuAdapter();
const browser = await chromium.launch({ executablePath: chromiumPath(), args: chromiumArgs(), headless: true });
let exitCode = 0;
try {
  const page = await browser.newPage();
  page.on('console', (m) => console.log(`[page] ${m.text()}`));
  await page.goto(new URL('bench/index.html', url).href);
  await page.waitForFunction(() => window.bench || window.benchError, null, { timeout: 120_000 });
  const err = await page.evaluate(() => window.benchError);
  if (err) throw new Error(`benchmark page could not start: ${err}`);
  const rows = [];
  for (const name of only) {
    console.log(`== ${name}`);
    rows.push(...(await page.evaluate(([n, o]) => window.bench.run(n, o), [name, { shapes, runs, naive }])));
  }

  mergeRows(rows);
  console.table(rows);
  console.log(`wrote ${rows.length} rows to bench/results.json`);
} catch (e) {
  console.error(e instanceof Error ? e.message : e);
  exitCode = 1;
} finally {
  await browser.close();
  await server.close();
}
process.exit(exitCode);
