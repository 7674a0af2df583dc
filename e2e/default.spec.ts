// The bundled base model on WebGPU: public/models/mor1e-tiny (served at /models/mor1e-tiny/)
// loads through the app's normal URL path, its GPU logits match the recipe's float64 golden
// logits, the worker's tokenizer gives the recipe's ids, and greedy generation with the KV cache
// is a greedy decode of the float64 reference model (every chosen token is the reference's
// argmax, up to float32 ties). The loader's F16 / BF16 readers (host-side, before the upload)
// are checked with these weights in tests/default.test.ts.
import { test, expect, type Page } from '@playwright/test';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { StudioPage } from './pages.ts';
import { maxRelError } from '../src/reference/gradcheck.ts';
import { openModel, readTensor } from '../src/model/load.ts';
import { filesFromBlobs } from '../src/model/sources.ts';
import { referenceForward } from '../src/reference/model.ts';

const MODEL_DIR = join(import.meta.dirname, '..', 'public', 'models', 'mor1e-tiny');
const golden = JSON.parse(readFileSync(join(import.meta.dirname, 'fixtures', 'default', 'golden.json'), 'utf8')) as { ids: number[]; logits: number[]; text: string };

async function openStudio(page: Page): Promise<void> {
  const studio = new StudioPage(page);
  await studio.open();
  await expect(studio.gpuStatus).toHaveAttribute('data-status', 'ready', { timeout: 60_000 });
}

test('the bundled mor1e-tiny loads from /models/mor1e-tiny/, matches its golden logits on the GPU and generates', async ({ page }) => {
  await openStudio(page);
  const info = await page.evaluate((u) => window.mor1e!.loadModel(u), '/models/mor1e-tiny/');
  expect(info).toMatchObject({ modelType: 'llama', arch: 'llama', layers: 4, hidden: 192, heads: 4, vocabSize: 2048, maxPositions: 256, dtypes: ['F32'], hasChatTemplate: false, eosId: 2047, unused: [] });
  expect(info.parameters).toBeGreaterThan(2_000_000);

  expect(await page.evaluate((t) => window.mor1e!.tokenize(t), golden.text)).toEqual(golden.ids);
  const got = await page.evaluate(async (x) => Array.from(await window.mor1e!.logits(x)), golden.ids);
  expect(got.length).toBe(golden.logits.length);
  const err = maxRelError(got, golden.logits);
  console.log(`[default] mor1e-tiny: max relative logit error on the GPU ${err.toExponential(2)}`);
  expect(err).toBeLessThan(1e-3);

  // The float64 reference model in Node, to check each generated token.
  const node = await openModel(filesFromBlobs(readdirSync(MODEL_DIR).map((f) => ({ name: f, blob: new Blob([readFileSync(join(MODEL_DIR, f))]) }))));
  const weights = new Map<string, Float64Array>();
  for (const key of node.tensors.keys()) weights.set(key, Float64Array.from(await readTensor(node, key)));
  const V = node.spec.vocabSize;
  for (const prompt of ['### Instruction:\nWhat is the opposite of hot?\n\n### Response:\n', 'The capital of France is']) {
    const result = await page.evaluate((p) => window.mor1e!.generate({ prompt: p, maxNewTokens: 8, temperature: 0 }), prompt);
    expect(result.promptIds).toEqual(node.tokenizer.encode(prompt));
    expect(result.ids.length).toBeGreaterThan(0);
    console.log(`[default] ${JSON.stringify(prompt)} -> ${JSON.stringify(result.text)}`);
    // Each step's token (or the EOS that ended it early) is the reference's argmax, within 1e-3.
    const steps = result.ids.length < 8 ? [...result.ids, node.spec.eosTokenIds[0]] : result.ids;
    for (let i = 0; i < steps.length; i++) {
      const logits = referenceForward(node.spec, weights, [...result.promptIds, ...result.ids.slice(0, i)]);
      const last = logits.subarray(logits.length - V);
      const max = Math.max(...last);
      expect(last[steps[i]], `${JSON.stringify(prompt)} step ${i}`).toBeGreaterThanOrEqual(max - 1e-3);
    }
  }
  expect(await page.evaluate(() => window.mor1e!.gpuErrors())).toEqual([]);
});
