// The float64 finetuning reference: adapter gradients through the whole model (GPT-2 and Llama
// with GQA) against finite differences of the loss, the intuition mapper (k clusters ≠ E),
// padded batches (padding tokens touch neither the loss nor any gradient), and a short run whose
// loss falls.
import { describe, expect, it } from 'vitest';
import { openModel, readTensor } from '../src/model/load.ts';
import { adaptedLayers, batchMask, layerSpec, PARAM_FIELDS, referenceLossAndGrads, referenceTrainStep, type AdapterConfig, type AdapterParams, type TrainBatch } from '../src/reference/train.ts';
import { adapterDims } from '../src/reference/adapter.ts';
import { maxRelError, randn, rng } from '../src/reference/gradcheck.ts';
import { fixtureFiles } from './modelFixtures.ts';
import type { ModelSpec } from '../src/model/config.ts';

async function load(name: string) {
  const m = await openModel(fixtureFiles(name));
  const w = new Map<string, Float64Array>();
  for (const k of m.tensors.keys()) w.set(k, Float64Array.from(await readTensor(m, k)));
  return { spec: m.spec, weights: w };
}

function randomParams(spec: ModelSpec, cfg: AdapterConfig, seed: number, scaleB = 0.3): Map<string, AdapterParams> {
  const r = rng(seed);
  const out = new Map<string, AdapterParams>();
  for (const { key, lin } of adaptedLayers(spec, cfg)) {
    const d = adapterDims(layerSpec(cfg, lin, 1));
    out.set(key, {
      A: randn(d.rA * lin.in, r, 0.3),
      B: randn(lin.out * d.rB, r, scaleB),
      Wr: d.E ? randn(d.E * lin.in, r, 0.5) : null,
      wOmega: d.gated ? Float64Array.from([0.003]) : null,
      wBeta: d.gated ? Float64Array.from([-0.002]) : null,
      M: d.mapper ? randn(d.E * d.k, r, 0.7) : null,
    });
  }
  return out;
}

function batch(V: number, E: number, seed: number, lengths?: number[]): TrainBatch {
  const r = rng(seed);
  const B = 2, T = 5;
  const ids = Array.from({ length: B * T }, () => Math.floor(r() * V));
  const targets = ids.map((_, i) => (i % T < 2 ? -100 : Math.floor(r() * V)));
  const b: TrainBatch = { B, T, ids, targets, s: E ? Array.from({ length: B * E }, () => r() * 2 - 1) : null };
  if (!lengths) return b;
  // Sequence b holds lengths[b] real tokens, then padding (mask 0, target −100, id 0).
  const mask = ids.map((_, i) => (i % T < lengths[Math.floor(i / T)] ? 1 : 0));
  return { ...b, ids: ids.map((v, i) => (mask[i] ? v : 0)), targets: targets.map((v, i) => (mask[i] ? v : -100)), mask };
}

function gradcheck(spec: ModelSpec, weights: Map<string, Float64Array>, cfg: AdapterConfig, params: Map<string, AdapterParams>, b: TrainBatch): number {
  const { grads } = referenceLossAndGrads(spec, weights, cfg, params, b);
  const r = rng(3);
  let checked = 0;
  for (const [key, p] of params) {
    for (const f of PARAM_FIELDS) {
      const arr = p[f];
      if (!arr) continue;
      // A few random entries per tensor (central differences of the full loss).
      for (let j = 0; j < 2; j++) {
        const i = Math.floor(r() * arr.length);
        const v = arr[i];
        const h = f === 'wOmega' || f === 'wBeta' ? 1e-6 : 1e-5;
        arr[i] = v + h;
        const lp = referenceLossAndGrads(spec, weights, cfg, params, b).loss;
        arr[i] = v - h;
        const lm = referenceLossAndGrads(spec, weights, cfg, params, b).loss;
        arr[i] = v;
        const num = (lp - lm) / (2 * h);
        const ana = grads.get(key)![f]![i];
        expect(Math.abs(ana - num) / Math.max(1, Math.abs(num)), `${key}.${f}[${i}]`).toBeLessThan(2e-5);
        checked++;
      }
    }
  }
  return checked;
}

describe('finetuning reference: adapter gradients through the whole model', () => {
  const cases: Array<[string, string, AdapterConfig]> = [
    ['tiny-gpt2', 'trex 2x3 top-2 with regularisers on every linear', { method: 'trex', r1: 2, r2: 3, topk: 2, lambdaH: 0.1, lambdaLB: 0.1 }],
    ['tiny-llama', 'mor1e E=4 on q, v, down', { method: 'mor1e', E: 4, targets: ['q', 'v', 'down'] }],
    ['tiny-qwen2', 'lora r=2 on every linear', { method: 'lora', r: 2, alpha: 4 }],
    // The intuition mapper: s has k values per sequence, each layer maps them to its E.
    ['tiny-gpt2', 'trex 2x3 top-2, mapper k=4 < E, on every linear', { method: 'trex', r1: 2, r2: 3, topk: 2, k: 4 }],
    ['tiny-llama', 'trex 2x2 dense, mapper k=5 > E, regularisers, on q, o, up', { method: 'trex', r1: 2, r2: 2, k: 5, lambdaH: 0.1, lambdaLB: 0.1, targets: ['q', 'o', 'up'] }],
    ['tiny-qwen2', 'mor1e E=4 dense, mapper k=3 < E, on k, v, down', { method: 'mor1e', E: 4, k: 3, targets: ['k', 'v', 'down'] }],
    ['tiny-llama', 'mor1e E=4 top-2, mapper k=6 > E, on q, gate', { method: 'mor1e', E: 4, topk: 2, k: 6, targets: ['q', 'gate'] }],
  ];
  for (const [model, name, cfg] of cases) {
    it(`${model}: ${name}`, async () => {
      const { spec, weights } = await load(model);
      const params = randomParams(spec, cfg, 5);
      const d = adapterDims(layerSpec(cfg, adaptedLayers(spec, cfg)[0].lin, 1));
      const b = batch(spec.vocabSize, d.gated ? d.k : d.E, 9);
      expect(gradcheck(spec, weights, cfg, params, b)).toBeGreaterThan(10);
      if (d.mapper) {
        // Every layer's mapper has a gradient of the right shape that is not all zero.
        const { grads } = referenceLossAndGrads(spec, weights, cfg, params, b);
        for (const [key, g] of grads) {
          expect(g.M!.length, key).toBe(d.E * d.k);
          expect(Math.max(...Array.from(g.M!).map(Math.abs)), key).toBeGreaterThan(0);
        }
        expect(() => referenceLossAndGrads(spec, weights, cfg, params, { ...b, s: b.s!.slice(1) })).toThrow(/intuition scores must be B x/);
      }
    }, 60_000);
  }

  // Padded batches: the second sequence (or both) ends in padding; both regularisers on.
  const padded: Array<[string, string, AdapterConfig, number[]]> = [
    ['tiny-gpt2', 'trex 2x3 top-2, regularisers, second sequence padded', { method: 'trex', r1: 2, r2: 3, topk: 2, lambdaH: 0.3, lambdaLB: 0.4 }, [5, 3]],
    ['tiny-llama', 'mor1e E=4 dense on q, v, down, regularisers, both padded', { method: 'mor1e', E: 4, lambdaH: -0.2, lambdaLB: 0.5, targets: ['q', 'v', 'down'] }, [4, 3]],
  ];
  for (const [model, name, cfg, lengths] of padded) {
    it(`${model}: ${name}`, async () => {
      const { spec, weights } = await load(model);
      const params = randomParams(spec, cfg, 5);
      const E = adapterDims(layerSpec(cfg, adaptedLayers(spec, cfg)[0].lin, 1)).E;
      const b = batch(spec.vocabSize, E, 9, lengths);
      expect(gradcheck(spec, weights, cfg, params, b)).toBeGreaterThan(10);

      // Other ids at the padding positions (so another x there in every layer): causal attention
      // keeps the real tokens as they were, and the padding tokens must add nothing to the
      // regularisers, so the loss and every gradient stay put.
      const base = referenceLossAndGrads(spec, weights, cfg, params, b);
      const moved = { ...b, ids: b.ids.map((v, i) => (b.mask![i] ? v : (i * 7 + 3) % spec.vocabSize)) };
      const after = referenceLossAndGrads(spec, weights, cfg, params, moved);
      expect(Math.abs(after.loss - base.loss)).toBeLessThan(1e-12);
      for (const [key, g] of base.grads)
        for (const f of PARAM_FIELDS)
          if (g[f]) expect(maxRelError(after.grads.get(key)![f]!, g[f]!), `${key}.${f}`).toBeLessThan(1e-12);
      // Without the mask the padding tokens do count (the check above has teeth).
      const unmasked = (bb: TrainBatch) => referenceLossAndGrads(spec, weights, cfg, params, { ...bb, mask: null }).loss;
      expect(Math.abs(unmasked(moved) - unmasked(b))).toBeGreaterThan(1e-4);
      // A mask of all ones is no mask at all.
      const full = batch(spec.vocabSize, E, 9);
      expect(referenceLossAndGrads(spec, weights, cfg, params, { ...full, mask: full.ids.map(() => 1) }).loss).toBe(referenceLossAndGrads(spec, weights, cfg, params, full).loss);
    }, 60_000);
  }

  it('a padding token must have a masked target', () => {
    const b = batch(10, 0, 1, [5, 3]);
    expect(() => batchMask({ ...b, targets: b.targets.map((t, i) => (i === 9 ? 4 : t)) })).toThrow(/token 9 is padding \(mask 0\) but has target 4/);
    expect(() => batchMask({ ...b, mask: b.mask!.slice(1) })).toThrow(/mask has 9 values, B·T = 10/);
    expect(() => batchMask({ ...b, mask: b.mask!.map((v) => v * 2) })).toThrow(/must be 0 \(padding\) or 1/);
    expect(batchMask(b)).toEqual([1, 1, 1, 1, 1, 1, 1, 1, 0, 0]);
  });

  it('30 AdamW steps of trex on a fixed batch lower the loss (tiny-gpt2)', async () => {
    const { spec, weights } = await load('tiny-gpt2');
    const cfg: AdapterConfig = { method: 'trex', r1: 2, r2: 4 };
    const params = randomParams(spec, cfg, 1, 0); // B = 0: the paper's initial state
    const state = new Map([...params].map(([k, p]) => [k, { m: zeros(p), v: zeros(p) }]));
    const b = batch(spec.vocabSize, 8, 2);
    const losses: number[] = [];
    for (let step = 1; step <= 30; step++) losses.push(referenceTrainStep(spec, weights, cfg, params, state, b, { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, maxNorm: 1 }, step));
    expect(losses[29]).toBeLessThan(losses[0] - 0.5);
  }, 60_000);
});

function zeros(p: AdapterParams): AdapterParams {
  const z = (a: Float64Array | null) => (a ? new Float64Array(a.length) : null);
  return { A: z(p.A)!, B: z(p.B)!, Wr: z(p.Wr), wOmega: z(p.wOmega), wBeta: z(p.wBeta), M: z(p.M) };
}
