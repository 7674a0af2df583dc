// Real sizes, generated at test time (e2e/scaleModels.ts; never committed) and served by the
// fixture hub: a 1 GB Llama-layout checkpoint loads in a Playwright context by URL (tensor by
// tensor through HTTP range requests: never held whole in memory) and by hub id (streamed into
// the Cache API, or, when the context's quota refuses it, loaded uncached with the reason); and
// a SmolLM2-135M-shaped model loads, trains one T-REX step on every linear layer at T = 16 with
// a finite loss, and gives the float64 reference's logits.
import { test, expect, type Page } from '@playwright/test';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SMOLLM2_135M, writeLlamaModel, type LlamaShape } from './scaleModels.ts';
import { openModel, readTensor } from '../src/model/load.ts';
import { filesFromBlobs } from '../src/model/sources.ts';
import { referenceForward } from '../src/reference/model.ts';
import { maxRelError } from '../src/reference/gradcheck.ts';

const HUB = `http://127.0.0.1:${process.env.MOR1E_HUB_PORT ?? 5175}`;
/** 1.07 GB of F32 weights: 18 blocks of 1024 wide, GQA 16 / 4 heads, a 32,000-token vocabulary, untied head. */
const BIG: LlamaShape = { hidden: 1024, intermediate: 2816, layers: 18, heads: 16, kvHeads: 4, vocab: 32000, maxPositions: 2048, ropeTheta: 10000, tied: false };

async function openApp(page: Page): Promise<void> {
  await page.goto('/');
  await expect(page.getByTestId('gpu-status')).toHaveAttribute('data-status', 'ready', { timeout: 60_000 });
}

const logits = (page: Page, ids: number[]) => page.evaluate(async (x) => Array.from(await window.mor1e!.logits(x)), ids);

test.describe.configure({ mode: 'serial' });

test('a 1 GB checkpoint loads by URL (range requests) and by hub id (cached, or uncached with the reason)', async ({ page, request }) => {
  test.setTimeout(600_000);
  const { bytes } = writeLlamaModel('llama-1g', BIG, 11);
  expect(bytes).toBeGreaterThan(1e9);
  await openApp(page);
  const before = await (await request.get(`${HUB}/__requests`)).json();
  const path = '/mor1e-scale/llama-1g/model.safetensors';
  const info = await page.evaluate((u) => window.mor1e!.loadModel(u), `${HUB}/mor1e-scale/llama-1g/`);
  expect(info).toMatchObject({ layers: 18, hidden: 1024, vocabSize: 32000, dtypes: ['F32'] });
  const after = await (await request.get(`${HUB}/__requests`)).json();
  // Every tensor came by its own range request; the file was never fetched whole.
  expect((after[`range:${path}`] ?? 0) - (before[`range:${path}`] ?? 0)).toBeGreaterThanOrEqual(18 * 9 + 3);
  expect(after[path] ?? 0).toBe(before[path] ?? 0);
  const ids = [1, 5, 9];
  const byUrl = await logits(page, ids);
  expect(byUrl.length).toBe(3 * 32000);
  expect(byUrl.every(Number.isFinite)).toBe(true);

  await page.evaluate((h) => window.mor1e!.loadModel({ kind: 'hub', repo: 'mor1e-scale/llama-1g', hubUrl: h }), HUB);
  const f = (await page.evaluate(() => window.mor1e!.modelState())).files['model.safetensors'];
  console.log(`[scale] 1 GB by hub: model.safetensors ${f.status}${f.message ? ` (${f.message})` : ''}`);
  expect(['done', 'uncached']).toContain(f.status);
  if (f.status === 'uncached') expect(f.message).toMatch(/not kept in the browser's cache/);
  expect(await logits(page, ids)).toEqual(byUrl);
  expect(await page.evaluate(() => window.mor1e!.gpuErrors())).toEqual([]);
});

test('SmolLM2-135M shape: loads, one T-REX step on every linear layer at T = 16 has a finite loss, logits match float64', async ({ page }) => {
  test.setTimeout(600_000);
  const { dir } = writeLlamaModel('smollm2-135m-shape', SMOLLM2_135M, 7);
  await openApp(page);
  const info = await page.evaluate((u) => window.mor1e!.loadModel(u), `${HUB}/mor1e-scale/smollm2-135m-shape/`);
  expect(info).toMatchObject({ layers: 30, hidden: 576, heads: 9, kvHeads: 3, vocabSize: 49152 });
  expect(info.parameters).toBeGreaterThan(134e6);

  // A few tokens against the float64 reference forward (the same file read in Node).
  const node = await openModel(filesFromBlobs(readdirSync(dir).map((name) => ({ name, blob: new Blob([readFileSync(join(dir, name))]) }))));
  const weights = new Map<string, Float64Array>();
  for (const key of node.tensors.keys()) weights.set(key, Float64Array.from(await readTensor(node, key)));
  const ids = [1, 17, 300, 41];
  const err = maxRelError(await logits(page, ids), referenceForward(node.spec, weights, ids));
  console.log(`[scale] SmolLM2-135M shape: max relative logit error vs float64 ${err.toExponential(2)}`);
  expect(err).toBeLessThan(1e-3);
  weights.clear();

  const T = 16;
  const seq = Array.from({ length: T + 1 }, (_, i) => (i * 37 + 5) % 300);
  const batch = { B: 1, T, ids: seq.slice(0, T), targets: seq.slice(1), s: Array.from({ length: 32 }, (_, i) => Math.cos(i) / 4) };
  const t0 = Date.now();
  const r = await page.evaluate((b) => window.mor1e!.finetune({ adapter: { method: 'trex', r1: 4, r2: 8 }, batch: b, steps: 1, hyper: { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, maxNorm: 1 }, seed: 1 }), batch);
  console.log(`[scale] SmolLM2-135M shape: one T-REX step (210 adapted layers, T = ${T}) in ${((Date.now() - t0) / 1000).toFixed(1)} s, loss ${r.losses[0]}`);
  expect(r.losses.length).toBe(1);
  expect(Number.isFinite(r.losses[0])).toBe(true);
  expect(r.routerStats.length).toBe(30 * 7);
  expect(await page.evaluate(() => window.mor1e!.gpuErrors())).toEqual([]);
});
