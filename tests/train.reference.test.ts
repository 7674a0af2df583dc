// The float64 finetuning reference: adapter gradients through the whole model (GPT-2 and Llama
// with GQA) against finite differences of the loss, and a short run whose loss falls.
import { describe, expect, it } from 'vitest';
import { openModel, readTensor } from '../src/model/load.ts';
import { adaptedLayers, layerSpec, referenceLossAndGrads, referenceTrainStep, type AdapterConfig, type AdapterParams, type TrainBatch } from '../src/reference/train.ts';
import { adapterDims } from '../src/reference/adapter.ts';
import { randn, rng } from '../src/reference/gradcheck.ts';
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
    });
  }
  return out;
}

function batch(V: number, E: number, seed: number): TrainBatch {
  const r = rng(seed);
  const B = 2, T = 5;
  const ids = Array.from({ length: B * T }, () => Math.floor(r() * V));
  const targets = ids.map((_, i) => (i % T < 2 ? -100 : Math.floor(r() * V)));
  return { B, T, ids, targets, s: E ? Array.from({ length: B * E }, () => r() * 2 - 1) : null };
}

describe('finetuning reference: adapter gradients through the whole model', () => {
  const cases: Array<[string, string, AdapterConfig]> = [
    ['tiny-gpt2', 'trex 2x3 top-2 with regularisers on every linear', { method: 'trex', r1: 2, r2: 3, topk: 2, lambdaH: 0.1, lambdaLB: 0.1 }],
    ['tiny-llama', 'mor1e E=4 on q, v, down', { method: 'mor1e', E: 4, targets: ['q', 'v', 'down'] }],
    ['tiny-qwen2', 'lora r=2 on every linear', { method: 'lora', r: 2, alpha: 4 }],
  ];
  for (const [model, name, cfg] of cases) {
    it(`${model}: ${name}`, async () => {
      const { spec, weights } = await load(model);
      const params = randomParams(spec, cfg, 5);
      const E = adapterDims(layerSpec(cfg, adaptedLayers(spec, cfg)[0].lin, 1)).E;
      const b = batch(spec.vocabSize, E, 9);
      const { grads } = referenceLossAndGrads(spec, weights, cfg, params, b);
      const r = rng(3);
      let checked = 0;
      for (const [key, p] of params) {
        for (const f of ['A', 'B', 'Wr', 'wOmega', 'wBeta'] as const) {
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
      expect(checked).toBeGreaterThan(10);
    }, 60_000);
  }

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
  return { A: z(p.A)!, B: z(p.B)!, Wr: z(p.Wr), wOmega: z(p.wOmega), wBeta: z(p.wBeta) };
}
