// Real models on WebGPU: the tiny GPT-2 / Llama / Qwen2 fixtures (F32, F16, BF16, sharded) load
// from a folder URL, from the local stand-in hub (cached across reloads) and from local files;
// their GPU logits match PyTorch's golden logits; generation with the KV cache matches a
// cache-free greedy decode; and every bad input gives a clear message with the app still usable.
import { test, expect, type Page } from '@playwright/test';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { StudioPage } from './pages.ts';
import { maxRelError } from '../src/reference/gradcheck.ts';
import { openModel } from '../src/model/load.ts';
import { filesFromBlobs } from '../src/model/sources.ts';

const MODELS = join(import.meta.dirname, 'fixtures', 'models');
const HUB = `http://127.0.0.1:${process.env.MOR1E_HUB_PORT ?? 5175}`;
const golden = (name: string) => JSON.parse(readFileSync(join(MODELS, name, 'golden.json'), 'utf8')) as { ids: number[]; logits: number[]; kind?: string };
const fileBuffers = (name: string) => readdirSync(join(MODELS, name)).filter((f) => f !== 'golden.json').map((f) => ({ name: f, mimeType: 'application/octet-stream', buffer: readFileSync(join(MODELS, name, f)) }));

async function openStudio(page: Page): Promise<StudioPage> {
  const studio = new StudioPage(page);
  await studio.open();
  await expect(studio.gpuStatus).toHaveAttribute('data-status', 'ready', { timeout: 60_000 });
  return studio;
}

async function gpuLogits(page: Page, ids: number[]): Promise<number[]> {
  return page.evaluate(async (x) => Array.from(await window.mor1e!.logits(x)), ids);
}

test.describe.configure({ mode: 'serial' });

test('every fixture model loads from a folder URL and its GPU logits match the PyTorch golden logits', async ({ page }) => {
  await openStudio(page);
  // Causal models only: tiny-bert is a sentence encoder, refused here (e2e/encoder.spec.ts).
  const names = readdirSync(MODELS).sort().filter((n) => golden(n).kind !== 'encoder');
  expect(names.length).toBeGreaterThanOrEqual(10);
  for (const name of names) {
    const info = await page.evaluate((u) => window.mor1e!.loadModel(u), `/e2e/fixtures/models/${name}/`);
    const g = golden(name);
    const got = await gpuLogits(page, g.ids);
    expect(got.length, name).toBe(g.logits.length);
    const err = maxRelError(got, g.logits);
    console.log(`[models] ${name}: ${info.modelType} ${info.dtypes.join('/')} max relative logit error ${err.toExponential(2)}`);
    expect(err, name).toBeLessThan(1e-4);
  }
  expect(await page.evaluate(() => window.mor1e!.gpuErrors())).toEqual([]);
});

test('tokenizer in the worker agrees with the Node one; greedy generation with the KV cache equals a cache-free decode', async ({ page }) => {
  await openStudio(page);
  for (const name of ['tiny-gpt2', 'tiny-llama', 'tiny-qwen2']) {
    await page.evaluate((u) => window.mor1e!.loadModel(u), `/e2e/fixtures/models/${name}/`);
    const text = 'the quick brown fox';
    const ids = await page.evaluate((t) => window.mor1e!.tokenize(t), text);
    const node = await openModel(filesFromBlobs(readdirSync(join(MODELS, name)).map((f) => ({ name: f, blob: new Blob([readFileSync(join(MODELS, name, f))]) }))));
    expect(ids).toEqual(node.tokenizer.encode(text));

    const result = await page.evaluate((t) => window.mor1e!.generate({ prompt: t, maxNewTokens: 6, temperature: 0 }), text);
    expect(result.promptIds).toEqual(ids);
    // Cache-free reference: the full forward over the growing sequence, argmax of the last row.
    const seq = [...ids];
    const expected: number[] = [];
    const V = (await page.evaluate(() => window.mor1e!.modelState().info!.vocabSize));
    for (let i = 0; i < result.ids.length; i++) {
      const logits = await gpuLogits(page, seq);
      const last = logits.slice((seq.length - 1) * V);
      const next = last.indexOf(Math.max(...last));
      expected.push(next);
      seq.push(next);
    }
    expect(result.ids, name).toEqual(expected);
    expect(result.ids.length).toBeGreaterThan(0);
  }
});

test('loads from the hub by model id with per-file progress, and a reload comes from the cache', async ({ page, request }) => {
  const studio = await openStudio(page);
  await page.getByTestId('model-tab-hub').click();
  await page.getByTestId('hub-repo').fill('mor1e-test/tiny-qwen2');
  await page.getByTestId('hub-url').fill(HUB);
  await page.getByTestId('model-load').click();
  await expect(page.getByTestId('model-info')).toHaveAttribute('data-model-type', 'qwen2', { timeout: 60_000 });
  await expect(page.getByTestId('model-source')).toContainText('mor1e-test/tiny-qwen2@main');
  const files = await page.evaluate(() => window.mor1e!.modelState().files);
  expect(Object.keys(files).sort()).toEqual(expect.arrayContaining(['config.json', 'model.safetensors', 'tokenizer.json']));
  for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']) expect(files[f].status, f).toBe('done');
  expect(files['model.safetensors.index.json'].status).toBe('missing');
  const before = await (await request.get(`${HUB}/__requests`)).json();

  await page.reload();
  await expect(studio.gpuStatus).toHaveAttribute('data-status', 'ready', { timeout: 60_000 });
  await page.evaluate((hubUrl) => window.mor1e!.loadModel({ kind: 'hub', repo: 'mor1e-test/tiny-qwen2', hubUrl }), HUB);
  const again = await page.evaluate(() => window.mor1e!.modelState().files);
  expect(again['model.safetensors'].status).toBe('cached');
  const after = await (await request.get(`${HUB}/__requests`)).json();
  expect(after['/mor1e-test/tiny-qwen2/resolve/main/model.safetensors']).toBe(before['/mor1e-test/tiny-qwen2/resolve/main/model.safetensors']);

  // The other architectures (and a sharded checkpoint through its index) from the hub too.
  for (const name of ['tiny-gpt2', 'tiny-llama-sharded', 'tiny-llama-bf16']) {
    const info = await page.evaluate(([repo, hubUrl]) => window.mor1e!.loadModel({ kind: 'hub', repo, hubUrl }), [`mor1e-test/${name}`, HUB]);
    const g = golden(name);
    expect(maxRelError(await gpuLogits(page, g.ids), g.logits), `${name} (${info.modelType}) from the hub`).toBeLessThan(1e-4);
  }
  await page.evaluate((hubUrl) => window.mor1e!.loadModel({ kind: 'hub', repo: 'mor1e-test/tiny-qwen2', hubUrl }), HUB);

  // A model id the hub does not have: a clear message, and the loaded model stays.
  await page.getByTestId('model-tab-hub').click();
  await page.getByTestId('hub-repo').fill('mor1e-test/no-such-model');
  await page.getByTestId('hub-url').fill(HUB);
  await page.getByTestId('model-load').click();
  await expect(page.getByTestId('model-error')).toContainText('config.json not found in mor1e-test/no-such-model@main');
  await expect(page.getByTestId('model-info')).toHaveAttribute('data-model-type', 'qwen2');
});

test('loads a folder chosen as local files, then generates in the playground', async ({ page }) => {
  const studio = await openStudio(page);
  await page.getByTestId('model-tab-files').click();
  await page.getByTestId('model-files').setInputFiles(fileBuffers('tiny-llama'));
  await expect(page.getByTestId('model-info')).toHaveAttribute('data-model-type', 'llama', { timeout: 60_000 });
  const g = golden('tiny-llama');
  expect(maxRelError(await gpuLogits(page, g.ids), g.logits)).toBeLessThan(1e-4);
  await studio.goto('playground');
  await page.getByTestId('playground-prompt').fill('hello world');
  await page.getByTestId('playground-generate').click();
  await expect(page.getByTestId('playground-generate')).toHaveText('Generate', { timeout: 60_000 });
  await expect(page.getByTestId('playground-output')).not.toBeEmpty();
  await expect(page.getByTestId('playground-error')).toHaveCount(0);
});

test('bad model files: each gives a clear message, and the loaded model keeps working', async ({ page }) => {
  await openStudio(page);
  await page.evaluate(() => window.mor1e!.loadModel('/e2e/fixtures/models/tiny-gpt2/'));
  const good = fileBuffers('tiny-gpt2');
  const byName = (n: string) => good.find((f) => f.name === n)!.buffer;
  const st = byName('model.safetensors');
  const cfg = JSON.parse(byName('config.json').toString());
  type Upload = { name: string; mimeType: string; buffer: Buffer };
  const replace = (name: string, buffer: Buffer | null): Upload[] =>
    [...good.filter((f) => f.name !== name), ...(buffer ? [{ name, mimeType: 'application/octet-stream', buffer: Buffer.from(buffer) }] : [])];
  const lying = Buffer.from(st);
  lying.writeUInt32LE(lying.readUInt32LE(0) + 1000, 0); // header length now points past its JSON
  const cases: Array<[string, ReturnType<typeof replace>, RegExp]> = [
    ['truncated safetensors', replace('model.safetensors', st.subarray(0, st.length - 64)), /model\.safetensors: .*truncated/],
    ['a header that lies about its length', replace('model.safetensors', lying), /model\.safetensors: header is not valid UTF-8 JSON|model\.safetensors: .*past the end/],
    ['an unknown model_type', replace('config.json', Buffer.from(JSON.stringify({ ...cfg, model_type: 'mamba' }))), /model_type "mamba" is not supported/],
    ['a missing tokenizer', replace('tokenizer.json', null), /tokenizer\.json not found/],
    ['shapes that disagree with the config', replace('config.json', Buffer.from(JSON.stringify({ ...cfg, n_embd: 32, n_head: 2 }))), /has shape \[305, 64\] but config\.json implies \[305, 32\]/],
  ];
  await page.getByTestId('model-tab-files').click();
  for (const [name, files, msg] of cases) {
    await page.getByTestId('model-files').setInputFiles(files);
    await expect(page.getByTestId('model-error'), name).toHaveText(msg, { timeout: 30_000 });
    await expect(page.getByTestId('model-info')).toHaveAttribute('data-model-type', 'gpt2');
  }
  const g = golden('tiny-gpt2');
  expect(maxRelError(await gpuLogits(page, g.ids), g.logits)).toBeLessThan(1e-4);
  await expect(page.evaluate(() => window.mor1e!.logits([999999]))).rejects.toThrow(/token id 999999 is outside the vocabulary/);
});
