// The intuition end to end through the app's worker: base-model embeddings against the float64
// reference forward, clusters that recover lexically distinct tasks, relate scores in the
// batches equal to C·e computed here, supplied vectors, the sentence encoder, UMAP maps, and
// scores for prompts typed now.
import { test, expect, type Page } from '@playwright/test';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openModel, readTensor } from '../src/model/load.ts';
import { filesFromBlobs } from '../src/model/sources.ts';
import { referenceHidden } from '../src/reference/model.ts';

const MODELS = join(import.meta.dirname, 'fixtures', 'models');

async function nodeModel(name: string) {
  const dir = join(MODELS, name);
  const m = await openModel(filesFromBlobs(readdirSync(dir).map((f) => ({ name: f, blob: new Blob([readFileSync(join(dir, f))]) }))));
  const weights = new Map<string, Float64Array>();
  for (const k of m.tensors.keys()) weights.set(k, Float64Array.from(await readTensor(m, k)));
  return { spec: m.spec, weights, tok: m.tokenizer };
}

async function openApp(page: Page): Promise<void> {
  await page.goto('/');
  await expect(page.getByTestId('gpu-status')).toHaveAttribute('data-status', 'ready', { timeout: 60_000 });
}

// Three tasks with disjoint words built from disjoint letters (the fixtures' tokenizers are
// nearly character-level, so disjoint letters make disjoint tokens).
const TASK_WORDS: Record<string, string[]> = {
  abcd: ['abc', 'bad', 'cab', 'dab'],
  klmn: ['kml', 'lmn', 'nkl', 'mnk'],
  tuvw: ['tuv', 'wvu', 'uwt', 'vtw'],
};
function lexicalRows(perTask: number): Array<{ instruction: string; output: string; task: string }> {
  const rows = [];
  for (let i = 0; i < perTask; i++)
    for (const [task, words] of Object.entries(TASK_WORDS)) rows.push({ instruction: Array.from({ length: 6 }, (_, j) => words[(i + j * (j + 1)) % 4]).join(' '), output: words[i % 4], task });
  return rows;
}

test.describe.configure({ mode: 'serial' });

test('base-model embeddings equal the float64 reference (mean-pooled, L2-normalised)', async ({ page }) => {
  test.setTimeout(120_000);
  await openApp(page);
  await page.evaluate(() => window.mor1e!.loadModel('/e2e/fixtures/models/tiny-llama/'));
  const texts = ['the cat sat on the mat', 'a', 'What is 2 plus 3?'];
  const { spec, weights, tok } = await nodeModel('tiny-llama');
  for (const layer of [0, 1, spec.layers]) {
    const gpu = await page.evaluate(([t, l]) => window.mor1e!.modelEmbeddings(t as string[], l as number), [texts, layer] as const);
    expect(gpu.length).toBe(texts.length * spec.hidden);
    texts.forEach((text, i) => {
      const ids = tok.encode(text, true);
      const h = referenceHidden(spec, weights, ids, layer);
      const mean = new Float64Array(spec.hidden);
      for (let t = 0; t < ids.length; t++) for (let c = 0; c < spec.hidden; c++) mean[c] += h[t * spec.hidden + c] / ids.length;
      const norm = Math.hypot(...mean);
      for (let c = 0; c < spec.hidden; c++) expect(Math.abs(gpu[i * spec.hidden + c] - mean[c] / norm), `layer ${layer} text ${i} dim ${c}`).toBeLessThan(2e-5);
    });
  }
  // The default block is the middle one.
  const mid = await page.evaluate((t) => window.mor1e!.modelEmbeddings(t), texts);
  const explicit = await page.evaluate(([t, l]) => window.mor1e!.modelEmbeddings(t as string[], l as number), [texts, Math.floor(spec.layers / 2)] as const);
  expect(Array.from(mid)).toEqual(Array.from(explicit));
});

/** Rows of e (n x d) minus their mean, renormalised: the intuition's centring, in the same float32 steps. */
function centred(e: Float32Array, n: number, d: number): Float32Array {
  const acc = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) acc[j] += e[i * d + j];
  const mean = Float32Array.from(acc, (v) => v / n);
  const out = Float32Array.from(e);
  for (let i = 0; i < n; i++) {
    let ss = 0;
    for (let j = 0; j < d; j++) {
      out[i * d + j] -= mean[j];
      ss += out[i * d + j] * out[i * d + j];
    }
    const inv = ss > 0 ? 1 / Math.sqrt(ss) : 0;
    for (let j = 0; j < d; j++) out[i * d + j] *= inv;
  }
  return out;
}

test('model source: clusters recover lexically distinct tasks; batch scores equal C·e', async ({ page }) => {
  test.setTimeout(180_000);
  await openApp(page);
  await page.evaluate(() => window.mor1e!.loadModel('/e2e/fixtures/models/tiny-gpt2/'));
  const rows = lexicalRows(12);
  const text = rows.map((r) => JSON.stringify(r)).join('\n');
  await page.evaluate((t) => window.mor1e!.importDataset({ name: 'lex.jsonl', text: t }, { validationFraction: 0 }), text);
  const r = await page.evaluate(() => window.mor1e!.intuition({ source: 'model', k: 3, seed: 4, restarts: 3 }));
  expect(r).toMatchObject({ source: 'model', k: 3, dim: 64, center: true });
  expect(r.sizes.reduce((a, b) => a + b, 0)).toBe(rows.length);
  expect(r.nmi!).toBeGreaterThan(0.8);
  expect(r.purity!).toBeGreaterThan(0.8);
  expect(r.projection.points.length).toBe(rows.length * 2);
  expect(r.projection.centroids.length).toBe(3 * 2);
  expect([...r.projection.points].every(Number.isFinite)).toBe(true);

  // The same clustering computed here from the same embeddings and seed: centred (the training
  // rows' mean subtracted, then renormalised; every row trains here), then s = C e per row.
  const rawE = await page.evaluate((t) => window.mor1e!.modelEmbeddings(t), rows.map((x) => x.instruction));
  const e = centred(rawE, rows.length, 64);
  const km = await page.evaluate(([p, n, d]) => window.mor1e!.kmeans({ points: p as Float32Array, n: n as number, d: d as number, k: 3, seed: 4, restarts: 3 }), [e, rows.length, 64] as const);
  expect(km.inertia).toBeCloseTo(r.inertia, 5);
  const batches = await page.evaluate(() => window.mor1e!.peekBatches({ split: 'train', count: 3, batchSize: 5 }));
  for (const b of batches) {
    expect(b.s!.length).toBe(b.B * 3);
    b.rows.forEach((row, i) => {
      for (let c = 0; c < 3; c++) {
        let dot = 0;
        for (let j = 0; j < 64; j++) dot += km.centroids[c * 64 + j] * e[row * 64 + j];
        expect(b.s![i * 3 + c]).toBeCloseTo(dot, 5);
      }
    });
  }
  // A prompt typed now is embedded and scored the same way.
  const s = await page.evaluate((t) => window.mor1e!.intuitionScores([t]), rows[4].instruction);
  for (let c = 0; c < 3; c++) {
    let dot = 0;
    for (let j = 0; j < 64; j++) dot += km.centroids[c * 64 + j] * e[4 * 64 + j];
    expect(s[c]).toBeCloseTo(dot, 5);
  }
  // center: false clusters the embeddings as they are.
  const raw = await page.evaluate(() => window.mor1e!.intuition({ source: 'model', k: 3, seed: 4, restarts: 3, center: false }));
  expect(raw.center).toBe(false);
  const kmRaw = await page.evaluate(([p, n, d]) => window.mor1e!.kmeans({ points: p as Float32Array, n: n as number, d: d as number, k: 3, seed: 4, restarts: 3 }), [rawE, rows.length, 64] as const);
  expect(kmRaw.inertia).toBeCloseTo(raw.inertia, 5);
});

test('supplied vectors, UMAP map, and the errors', async ({ page }) => {
  test.setTimeout(180_000);
  await openApp(page);
  await page.evaluate(() => window.mor1e!.loadModel('/e2e/fixtures/models/tiny-gpt2/'));
  const rows = Array.from({ length: 24 }, (_, i) => ({ instruction: `q ${i}`, output: 'a', task: i % 2 ? 'odd' : 'even', emb: i % 2 ? [1, 0.1 * (i % 5), 0] : [0, 0.1 * (i % 3), 1] }));
  await page.evaluate((t) => window.mor1e!.importDataset({ name: 'emb.jsonl', text: t }, { validationFraction: 0 }), rows.map((x) => JSON.stringify(x)).join('\n'));
  const r = await page.evaluate(() => window.mor1e!.intuition({ source: 'supplied', k: 2, seed: 1, projection: 'umap' }));
  expect(r).toMatchObject({ source: 'supplied', k: 2, dim: 3, center: false, nmi: 1, purity: 1 });
  expect(r.sizes.sort()).toEqual([12, 12]);
  expect(r.projection.method).toBe('umap');
  expect(r.projection.points.length).toBe(48);
  expect([...r.projection.points].every(Number.isFinite)).toBe(true);
  await expect(page.evaluate(() => window.mor1e!.intuitionScores(['new prompt']))).rejects.toThrow(/supplied vectors/);
  await expect(page.evaluate(() => window.mor1e!.intuition({ source: 'supplied', k: 40, seed: 1 }))).rejects.toThrow(/40 clusters need at least 40 training rows/);
  // Rows without emb: the supplied source names the first such line.
  await page.evaluate(() => window.mor1e!.importDataset({ name: 'plain.jsonl', text: '{"instruction":"a","output":"b"}\n{"instruction":"c","output":"d"}' }, { validationFraction: 0 }));
  await expect(page.evaluate(() => window.mor1e!.intuition({ source: 'supplied', k: 1, seed: 1 }))).rejects.toThrow(/line 1 has none/);
});

test('encoder source: a BERT sentence encoder embeds the prompts', async ({ page }) => {
  test.setTimeout(180_000);
  await openApp(page);
  await page.evaluate(() => window.mor1e!.loadModel('/e2e/fixtures/models/tiny-llama/'));
  const rows = lexicalRows(6);
  await page.evaluate((t) => window.mor1e!.importDataset({ name: 'lex.jsonl', text: t }, { validationFraction: 0 }), rows.map((x) => JSON.stringify(x)).join('\n'));
  const r = await page.evaluate(() => window.mor1e!.intuition({ source: 'encoder', encoder: '/e2e/fixtures/models/tiny-bert/', k: 3, seed: 2 }));
  expect(r).toMatchObject({ source: 'encoder', encoder: '/e2e/fixtures/models/tiny-bert/', k: 3 });
  expect(r.sizes.reduce((a, b) => a + b, 0)).toBe(rows.length);
  const s = await page.evaluate(() => window.mor1e!.intuitionScores(['abc bad', 'tuv wvu']));
  expect(s.length).toBe(6);
  const [b] = await page.evaluate(() => window.mor1e!.peekBatches({ split: 'train', count: 1, batchSize: 4 }));
  expect(b.s!.length).toBe(12);
});
