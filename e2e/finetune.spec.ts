// End to end: adapters trained through the real model path on the GPU. 30 AdamW steps of each
// method on a small fixed batch lower the loss, and the first three losses equal the float64
// reference loop's (same seeded initialisation, same batch, same hyper-parameters). A padded
// batch (the second sequence shorter) with both router regularisers matches the float64 loop,
// whose regularisers and statistics count the real tokens only. With an intuition of k ≠ E
// clusters (each layer's learned mapper turns the B x k scores into its E), the first three
// losses match too, and they would not if the mapper were frozen.
import { test, expect } from '@playwright/test';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openModel, readTensor } from '../src/model/load.ts';
import { filesFromBlobs } from '../src/model/sources.ts';
import { referenceLossAndGrads, referenceTrainStep, adaptedLayers, layerSpec, type AdapterConfig, type AdapterParams, type TrainBatch, type TrainHyper } from '../src/reference/train.ts';
import { adapterDims } from '../src/reference/adapter.ts';
import { initAdapterParams } from '../src/train/trainer.ts';
import { rng } from '../src/reference/gradcheck.ts';

const MODELS = join(import.meta.dirname, 'fixtures', 'models');

async function nodeModel(name: string) {
  const dir = join(MODELS, name);
  const m = await openModel(filesFromBlobs(readdirSync(dir).map((f) => ({ name: f, blob: new Blob([readFileSync(join(dir, f))]) }))));
  const weights = new Map<string, Float64Array>();
  for (const k of m.tensors.keys()) weights.set(k, Float64Array.from(await readTensor(m, k)));
  return { spec: m.spec, weights };
}

function fixedBatch(V: number, E: number): TrainBatch {
  // Four short "instances": a 3-token prompt (masked) and a 6-token answer each.
  const r = rng(42);
  const B = 4, T = 9;
  const ids = Array.from({ length: B * T }, () => Math.floor(r() * V));
  const targets = ids.map((_, i) => (i % T < 3 ? -100 : ids[i + 1 < B * T && (i + 1) % T !== 0 ? i + 1 : i]));
  return { B, T, ids, targets, s: E ? Array.from({ length: B * E }, (_, i) => (i % E === Math.floor(i / E) % E ? 1 : 0.1)) : null, task: [0, 1, 0, 1] };
}

const HYPER: TrainHyper = { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, maxNorm: 1 };

const cases: Array<[string, AdapterConfig]> = [
  ['tiny-gpt2', { method: 'trex', r1: 2, r2: 4 }],
  ['tiny-llama', { method: 'trex', r1: 2, r2: 4, topk: 4, lambdaLB: 0.01 }],
  ['tiny-qwen2', { method: 'mor1e', E: 4 }],
  ['tiny-gpt2', { method: 'lora', r: 4, alpha: 8 }],
  ['tiny-llama', { method: 'molora', r: 8 }],
  ['tiny-qwen2', { method: 'sira', r: 8 }],
  ['tiny-llama', { method: 'trex', r1: 2, r2: 4, k: 3 }],
];

test.describe.configure({ mode: 'serial' });

for (const [model, cfg] of cases) {
  test(`${cfg.method}${cfg.k ? ` with a mapper (k = ${cfg.k} clusters)` : ''} on ${model}: 30 steps lower the loss; the first three match the float64 loop`, async ({ page }) => {
    test.setTimeout(300_000);
    await page.goto('/');
    await expect(page.getByTestId('gpu-status')).toHaveAttribute('data-status', 'ready', { timeout: 60_000 });
    await page.evaluate((u) => window.mor1e!.loadModel(u), `/e2e/fixtures/models/${model}/`);
    const { spec, weights } = await nodeModel(model);
    const E = adapterDims(layerSpec(cfg, adaptedLayers(spec, cfg)[0].lin, 1)).E;
    const dims = adapterDims(layerSpec(cfg, adaptedLayers(spec, cfg)[0].lin, 1));
    // Intuition scores: B x E, or B x k with a mapper.
    const batch = fixedBatch(spec.vocabSize, dims.gated ? dims.k : 0);
    const { losses, routerStats } = await page.evaluate((req) => window.mor1e!.finetune(req), { adapter: cfg, batch, steps: 30, hyper: HYPER, seed: 7 });
    // Router statistics of the last step, split by task: shares and mean probabilities sum to 1.
    if (E > 0) {
      expect(routerStats.length).toBe(adaptedLayers(spec, cfg).length);
      for (const layer of routerStats) {
        expect(layer.groups.map((g) => g.tokens)).toEqual([36, 18, 18]);
        for (const g of layer.groups) {
          expect(g.f.reduce((a, b) => a + b)).toBeCloseTo(1, 5);
          expect(g.P.reduce((a, b) => a + b)).toBeCloseTo(1, 5);
          expect(g.entropy).toBeGreaterThanOrEqual(0);
        }
        expect(layer.balance).toBeGreaterThan(0);
      }
    } else {
      expect(routerStats).toEqual([]);
    }

    const params = initAdapterParams({ spec }, cfg, 7);
    const zero = (p: AdapterParams): AdapterParams => ({
      A: new Float64Array(p.A.length), B: new Float64Array(p.B.length), Wr: p.Wr && new Float64Array(p.Wr.length),
      wOmega: p.wOmega && new Float64Array(1), wBeta: p.wBeta && new Float64Array(1), M: p.M && new Float64Array(p.M.length),
    });
    const state = new Map([...params].map(([k, p]) => [k, { m: zero(p), v: zero(p) }]));
    const ref: number[] = [];
    for (let step = 1; step <= 3; step++) ref.push(referenceTrainStep(spec, weights, cfg, params, state, batch, HYPER, step));
    if (dims.mapper) {
      // The mapper's training shows in the third loss: with M frozen it would miss by far more than the tolerance.
      const frozen = initAdapterParams({ spec }, cfg, 7);
      const st = new Map([...frozen].map(([k, p]) => [k, { m: zero(p), v: zero(p) }]));
      let third = 0;
      for (let step = 1; step <= 3; step++) {
        const M0 = [...frozen.values()].map((p) => Float64Array.from(p.M!));
        third = referenceTrainStep(spec, weights, cfg, frozen, st, batch, HYPER, step);
        [...frozen.values()].forEach((p, i) => p.M!.set(M0[i]));
      }
      expect(Math.abs(third - ref[2]) / Math.abs(ref[2]), 'a frozen mapper changes loss 3').toBeGreaterThan(5e-4);
    }
    console.log(`[finetune] ${cfg.method}${cfg.k ? ` k=${cfg.k}` : ''} on ${model}: GPU ${losses.slice(0, 3).map((l) => l.toFixed(6)).join(', ')} … ${losses[29].toFixed(4)}; float64 ${ref.map((l) => l.toFixed(6)).join(', ')}`);
    for (let i = 0; i < 3; i++) expect(Math.abs(losses[i] - ref[i]) / Math.abs(ref[i]), `loss ${i + 1}`).toBeLessThan(1e-4);
    expect(losses[29]).toBeLessThan(losses[0] * 0.8);
    expect(await page.evaluate(() => window.mor1e!.gpuErrors())).toEqual([]);
  });
}

// B = 2 sequences of T = 9 positions: the first full, the second 5 real tokens then 4 padding
// (id 0, target −100, mask 0). Targets: next token, prompt (first 2) masked.
function paddedBatch(V: number, E: number): TrainBatch {
  const r = rng(5);
  const B = 2, T = 9, lengths = [9, 5];
  const mask = Array.from({ length: B * T }, (_, i) => (i % T < lengths[Math.floor(i / T)] ? 1 : 0));
  const ids = mask.map((m) => (m ? Math.floor(r() * V) : 0));
  const targets = ids.map((_, i) => (i % T < 2 || (i + 1) % T === 0 || !mask[i + 1] ? -100 : ids[i + 1]));
  return { B, T, ids, targets, s: Array.from({ length: B * E }, (_, i) => (i % E === Math.floor(i / E) % E ? 1 : 0.1)), task: [0, 1], mask };
}

const padded: Array<[string, AdapterConfig]> = [
  ['tiny-llama', { method: 'trex', r1: 2, r2: 4, topk: 3, lambdaH: 0.5, lambdaLB: 0.5 }],
  ['tiny-gpt2', { method: 'mor1e', E: 4, lambdaH: 0.5, lambdaLB: 0.5 }],
];

for (const [model, cfg] of padded) {
  test(`${cfg.method} on ${model}, padded batch with both regularisers: the first three losses match the float64 loop`, async ({ page }) => {
    test.setTimeout(300_000);
    await page.goto('/');
    await expect(page.getByTestId('gpu-status')).toHaveAttribute('data-status', 'ready', { timeout: 60_000 });
    await page.evaluate((u) => window.mor1e!.loadModel(u), `/e2e/fixtures/models/${model}/`);
    const { spec, weights } = await nodeModel(model);
    const E = adapterDims(layerSpec(cfg, adaptedLayers(spec, cfg)[0].lin, 1)).E;
    const batch = paddedBatch(spec.vocabSize, E);
    const { losses, routerStats } = await page.evaluate((req) => window.mor1e!.finetune(req), { adapter: cfg, batch, steps: 3, hyper: HYPER, seed: 7 });
    // The statistics count real tokens only: 14 in all, 9 of task 0, 5 of task 1.
    expect(routerStats.length).toBe(adaptedLayers(spec, cfg).length);
    for (const layer of routerStats) {
      expect(layer.groups.map((g) => g.tokens)).toEqual([14, 9, 5]);
      for (const g of layer.groups) expect(g.f.reduce((a, b) => a + b)).toBeCloseTo(1, 5);
    }

    const reference = (b: TrainBatch) => {
      const params = initAdapterParams({ spec }, cfg, 7);
      const zero = (p: AdapterParams): AdapterParams => ({
        A: new Float64Array(p.A.length), B: new Float64Array(p.B.length), Wr: p.Wr && new Float64Array(p.Wr.length),
        wOmega: p.wOmega && new Float64Array(1), wBeta: p.wBeta && new Float64Array(1), M: p.M && new Float64Array(p.M.length),
      });
      const state = new Map([...params].map(([k, p]) => [k, { m: zero(p), v: zero(p) }]));
      return [1, 2, 3].map((step) => referenceTrainStep(spec, weights, cfg, params, state, b, HYPER, step));
    };
    const ref = reference(batch);
    const unmasked = reference({ ...batch, mask: null });
    console.log(`[finetune] padded ${cfg.method} on ${model}: GPU ${losses.map((l) => l.toFixed(6)).join(', ')}; float64 ${ref.map((l) => l.toFixed(6)).join(', ')} (padding counted: ${unmasked.map((l) => l.toFixed(6)).join(', ')})`);
    // Counting the padding tokens would be visible in these losses.
    expect(Math.max(...unmasked.map((u, i) => Math.abs(u - ref[i]) / Math.abs(ref[i])))).toBeGreaterThan(1e-3);
    for (let i = 0; i < 3; i++) expect(Math.abs(losses[i] - ref[i]) / Math.abs(ref[i]), `loss ${i + 1}`).toBeLessThan(1e-4);
    expect(await page.evaluate(() => window.mor1e!.gpuErrors())).toEqual([]);
  });
}

// After one step, every adapter parameter's GPU gradient (read back after the step; AdamW leaves
// the gradient buffers as they were) equals the float64 reference's, tensor by tensor.
const GRAD_METHODS: AdapterConfig[] = [
  { method: 'trex', r1: 2, r2: 4, topk: 3, lambdaH: 0.05, lambdaLB: 0.05 },
  { method: 'mor1e', E: 4 },
  { method: 'lora', r: 4, alpha: 8 },
  { method: 'molora', r: 8 },
  { method: 'sira', r: 8 },
];
for (const model of ['tiny-gpt2', 'tiny-llama', 'tiny-qwen2']) {
  test(`one step on ${model}: every method's GPU gradients equal referenceLossAndGrads within 1e-4`, async ({ page }) => {
    test.setTimeout(300_000);
    await page.goto('/');
    await expect(page.getByTestId('gpu-status')).toHaveAttribute('data-status', 'ready', { timeout: 60_000 });
    await page.evaluate((u) => window.mor1e!.loadModel(u), `/e2e/fixtures/models/${model}/`);
    const { spec, weights } = await nodeModel(model);
    for (const cfg of GRAD_METHODS) {
      const dims = adapterDims(layerSpec(cfg, adaptedLayers(spec, cfg)[0].lin, 1));
      const batch = fixedBatch(spec.vocabSize, dims.gated ? dims.k : 0);
      // The head and loss in chunks of 5 tokens (not a divisor of the batch's) for one method: the same gradients.
      const logitChunkBytes = cfg.method === 'trex' ? 5 * spec.vocabSize * 4 : undefined;
      const { grads } = await page.evaluate((req) => window.mor1e!.finetune(req), { adapter: cfg, batch, steps: 1, hyper: HYPER, seed: 7, returnGrads: true, logitChunkBytes });
      const ref = referenceLossAndGrads(spec, weights, cfg, initAdapterParams({ spec }, cfg, 7), batch).grads;
      const close = (gpu: number[], want: ArrayLike<number>, what: string) => {
        expect(gpu.length, what).toBe(want.length);
        let scale = 0, err = 0;
        for (let i = 0; i < want.length; i++) {
          scale = Math.max(scale, Math.abs(want[i]));
          err = Math.max(err, Math.abs(gpu[i] - want[i]));
        }
        expect(err / Math.max(scale, 1e-12), `${cfg.method} ${what}`).toBeLessThan(1e-4);
      };
      for (const [key, g] of ref) {
        const got = grads![key];
        close(got.WrA, Float64Array.from([...(g.Wr ?? []), ...g.A]), `${key} [W_r; A]`);
        close(got.B, g.B, `${key} B`);
        if (g.wOmega) close(got.gates!, [g.wOmega[0], g.wBeta![0]], `${key} gates`);
      }
    }
  });
}

test('memory: a step\'s measured peak of pooled buffers matches the estimate the run checks before it starts', async ({ page }) => {
  test.setTimeout(300_000);
  await page.goto('/');
  await expect(page.getByTestId('gpu-status')).toHaveAttribute('data-status', 'ready', { timeout: 60_000 });
  await page.evaluate((u) => window.mor1e!.loadModel(u), '/models/mor1e-tiny/');
  const B = 4, T = 32, V = 2048;
  const r = rng(5);
  const ids = Array.from({ length: B * T }, () => Math.floor(r() * V));
  const batch = { B, T, ids, targets: ids.map((_, i) => (i % T < 8 || i % T === T - 1 ? -100 : ids[i + 1])), s: Array.from({ length: B * 32 }, (_, i) => Math.sin(i)) };
  for (const logitChunkBytes of [undefined, 24 * V * 4]) {
    const res = await page.evaluate((req) => window.mor1e!.finetune(req), { adapter: { method: 'trex', r1: 4, r2: 8 } as AdapterConfig, batch, steps: 1, hyper: HYPER, seed: 1, logitChunkBytes });
    const { peakPoolBytes, estimatedBytes } = res.memory;
    console.log(`[finetune] mor1e-tiny trex B=${B} T=${T}${logitChunkBytes ? ' (head in chunks of 24 tokens)' : ''}: pooled peak ${(peakPoolBytes / 2 ** 20).toFixed(2)} MiB, estimate ${(estimatedBytes / 2 ** 20).toFixed(2)} MiB`);
    expect(peakPoolBytes / estimatedBytes).toBeGreaterThan(0.8);
    expect(peakPoolBytes / estimatedBytes).toBeLessThan(1.2);
  }
});

test('a step split into many submissions (Engine.maxDispatchesPerSubmit) gives bit-identical losses and parameters', async ({ page }) => {
  test.setTimeout(300_000);
  await page.goto('/');
  await expect(page.getByTestId('gpu-status')).toHaveAttribute('data-status', 'ready', { timeout: 60_000 });
  await page.evaluate((u) => window.mor1e!.loadModel(u), '/models/mor1e-tiny/');
  const B = 2, T = 12, V = 2048;
  const r = rng(9);
  const ids = Array.from({ length: B * T }, () => Math.floor(r() * V));
  const batch = { B, T, ids, targets: ids.map((_, i) => (i % T < 4 || i % T === T - 1 ? -100 : ids[i + 1])), s: Array.from({ length: B * 32 }, (_, i) => Math.cos(i)), task: [0, 1] };
  const req = { adapter: { method: 'trex', r1: 4, r2: 8 } as AdapterConfig, batch, steps: 2, hyper: HYPER, seed: 3 };
  const whole = await page.evaluate((q) => window.mor1e!.finetune({ ...q, maxDispatchesPerSubmit: 0 }), req);
  const split = await page.evaluate((q) => window.mor1e!.finetune({ ...q, maxDispatchesPerSubmit: 7 }), req);
  console.log(`[finetune] 2 T-REX steps on mor1e-tiny: ${whole.submissions} submissions whole, ${split.submissions} split at 7 dispatches`);
  // Whole: one command buffer per step (its one micro-batch and the update).
  expect(whole.submissions).toBe(2);
  expect(split.submissions).toBeGreaterThan(40);
  // The second step binds what the first did: every bind group comes from Engine.dispatch's cache.
  console.log(`[finetune] bind groups per step, whole: ${JSON.stringify(whole.bindGroups)}; split: ${JSON.stringify(split.bindGroups)}`);
  for (const r of [whole, split]) {
    expect(r.bindGroups[0].created).toBeGreaterThan(100);
    expect(r.bindGroups[1]).toEqual({ created: 0, reused: r.bindGroups[0].created + r.bindGroups[0].reused });
  }
  expect(split.losses).toEqual(whole.losses);
  expect(split.params).toEqual(whole.params);
});
