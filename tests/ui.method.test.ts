// The Method step's logic (src/ui/method.ts): the form → RunConfig mapping the worker receives,
// the trainable parameter count on the bundled model, and the invalid combinations it explains.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseModelConfig, type CausalModelSpec } from '../src/model/config.ts';
import { checkMethod, defaultForm, fromRunConfig, presetOf, toRunConfig, type MethodForm } from '../src/ui/method.ts';
import type { ModelInfo } from '../src/worker/api.ts';
import type { ImportResult } from '../src/data/types.ts';

const spec = parseModelConfig(JSON.parse(readFileSync(join(import.meta.dirname, '..', 'public', 'models', 'mor1e-tiny', 'config.json'), 'utf8'))) as CausalModelSpec;
const info = { source: '/models/mor1e-tiny/', modelType: spec.modelType, arch: 'llama', layers: spec.layers, hidden: spec.hidden, heads: spec.heads, kvHeads: spec.kvHeads,
  vocabSize: spec.vocabSize, maxPositions: spec.maxPositions, parameters: 2_164_416, dtypes: ['F32'], weightMiB: 8.26, maxTokens: 4096, hasChatTemplate: false, eosId: 2047, unused: [], spec } as ModelInfo;
const data = { train: 4500, validation: 450, tokenized: true, embDim: null, lengths: { min: 24, max: 55, mean: 36, histogram: [] } } as unknown as ImportResult;
const limits = { maxStorageBufferBindingSize: 2 ** 30, maxBufferSize: 2 ** 30 };
const check = (p: Partial<MethodForm>) => checkMethod({ ...defaultForm(), ...p }, { info, data, limits });

describe('Method step', () => {
  it('defaults to T-REX 4 x 8 with the intuition from the base model, and maps the form to a RunConfig', () => {
    const cfg = toRunConfig(defaultForm());
    expect(cfg).toMatchObject({ method: 'trex', r1: 4, r2: 8, topk: null, lambdaH: 0, lambdaLB: 0, intuition: { source: 'model', seed: 0 }, init: 'fresh', steps: 600, batchSize: 16, lr: 5e-3, warmupSteps: 30 });
    expect(cfg.intuition).not.toHaveProperty('k'); // 0 in the form: one cluster per expert
    expect(toRunConfig({ ...defaultForm(), ...presetOf('lora') })).toMatchObject({ method: 'lora', r: 32, alpha: 32 });
    expect(toRunConfig({ ...defaultForm(), ...presetOf('lora') })).not.toHaveProperty('intuition');
    expect(toRunConfig({ ...defaultForm(), routing: 'topk', topk: 2, length: 'epochs', epochs: 2 })).toMatchObject({ topk: 2, epochs: 2 });
  });

  it('a run\'s settings go back into the form: toRunConfig(fromRunConfig(cfg)) gives the run\'s config back', () => {
    const forms: MethodForm[] = [
      defaultForm(),
      { ...defaultForm(), routing: 'topk', topk: 3, k: 5, intuition: 'encoder', encoder: 'org/enc', lr: 1e-3, length: 'epochs', epochs: 3, accumulate: 2, seed: 7 },
      { ...defaultForm(), ...presetOf('mor1e'), intuition: 'none', lambdaH: 0.01, targets: ['q', 'v'], evalEvery: 5, checkpointEvery: 10 },
      { ...defaultForm(), ...presetOf('lora'), r: 8, alpha: 16, schedule: 'constant', warmupSteps: 0, batchSize: 4, maxLength: 96 },
      { ...defaultForm(), ...presetOf('sira'), r: 16, lambdaLB: 0.02 },
    ];
    for (const f of forms) {
      const cfg = toRunConfig(f);
      // From a form of another method and other settings: everything the config sets comes back.
      const other = { ...defaultForm(), ...presetOf(f.method === 'lora' ? 'trex' : 'lora'), lr: 0.1, batchSize: 1, steps: 3, seed: 99, routing: 'topk' as const, topk: 1 };
      expect(toRunConfig(fromRunConfig(cfg, other))).toEqual(cfg);
    }
  });

  it('counts the trainable parameters on mor1e-tiny as METHOD.md does', () => {
    // Per adapted Linear(n → m): r1·n + m·r2 + E·n + 2 gates; 4 blocks of q, k, v, o (192 → 192), gate, up (192 → 512), down (512 → 192).
    const per = (n: number, m: number) => 4 * n + 8 * m + 32 * n + 2;
    const c = check({});
    expect(c.errors).toEqual({});
    expect(c.trainable).toBe(4 * (4 * per(192, 192) + 2 * per(192, 512) + per(512, 192)));
    expect(c.adaptedLayers).toBe(28);
    expect(c.memory!.totalBytes).toBeGreaterThan(c.memory!.weightBytes);
    // A mapper when k ≠ E: E x k more per layer.
    expect(check({ k: 9 }).trainable).toBe(c.trainable! + 28 * 32 * 9);
    expect(check({ targets: ['q', 'v'] }).adaptedLayers).toBe(8);
  });

  it('explains invalid combinations beside their fields', () => {
    expect(check({ ...presetOf('sira'), r: 12 }).errors.r).toMatch(/multiple of 8/);
    expect(check({ routing: 'topk', topk: 40 }).errors.topk).toMatch(/only 32/);
    expect(check({ intuition: 'supplied' }).errors.intuition).toMatch(/no `emb` vectors/);
    expect(check({ intuition: 'encoder' }).errors.encoder).toMatch(/encoder/);
    expect(check({ maxLength: 1000 }).errors.maxLength).toMatch(/context is 256/);
    expect(check({ targets: ['qkv'] }).errors.targets).toMatch(/no qkv layers/);
    expect(check({ lr: NaN }).errors.lr).toBeDefined();
    expect(check({ lambdaLB: -1 }).errors.lambdaLB).toBeDefined();
    expect(check({ warmupSteps: 700 }).warnings.warmupSteps).toMatch(/covers all 600 steps/);
    expect(check({ k: 5000 }).errors.k).toMatch(/4500/);
    const tight = checkMethod(defaultForm(), { info, data, limits: { maxStorageBufferBindingSize: 2 ** 16, maxBufferSize: 2 ** 16 } });
    expect(tight.errors.memory).toMatch(/binds at most/);
  });
});
