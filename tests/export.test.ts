// Adapter export and import (src/export): PEFT's key names, shapes and config for GPT-2 and Llama
// layouts; the mor1e format's config keys and tensors; export → import round trips of every
// method (identical float32 arrays and logits); the merged LoRA (W + scaling·B·A in both layouts
// and dtypes, and its logits equal the adapter's); the per-cluster static LoRAs (equal to the
// adapter for a token routed by the frozen weights); import refusals; and the PyTorch goldens of
// scripts/export_fixtures.py through the float64 reference model.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openModel, readTensor, type OpenedModel } from '../src/model/load.ts';
import { readSafetensorsHeader, readTensorBytes, writeSafetensors, type SafetensorsFile } from '../src/model/safetensors.ts';
import { toFloat32, f32ToBf16 } from '../src/model/dtype.ts';
import { filesFromBlobs } from '../src/model/sources.ts';
import { adapterDims, GATE_SLOPE } from '../src/adapters/spec.ts';
import type { AdapterParams } from '../src/adapters/params.ts';
import { adaptedLayers, layerSpec, type AdapterConfig } from '../src/train/config.ts';
import type { ModelSpec } from '../src/model/config.ts';
import {
  exportAdapter, exportMerged, exportMor1e, exportPeftLora, exportPerCluster, expandZips, importAdapter, staticLoRA,
  AdapterExportError, AdapterImportError, type ExportFile, type IntuitionRecord,
} from '../src/export/index.ts';
import { referenceLogits } from '../src/reference/train.ts';
import { referenceForward } from '../src/reference/model.ts';
import { adapterForward } from '../src/reference/adapter.ts';
import { maxRelError, randn, rng } from '../src/reference/gradcheck.ts';
import { MODELS_DIR, fixtureBytes, fixtureFiles } from './modelFixtures.ts';

const ADAPTERS_DIR = join(import.meta.dirname, '..', 'e2e', 'fixtures', 'adapters');

interface Loaded {
  model: OpenedModel;
  spec: ModelSpec;
  weights: Map<string, Float64Array>;
  config: Uint8Array;
}

const cache = new Map<string, Promise<Loaded>>();
function load(name: string): Promise<Loaded> {
  if (!cache.has(name)) {
    cache.set(name, (async () => {
      const model = await openModel(fixtureFiles(name));
      const weights = new Map<string, Float64Array>();
      for (const k of model.tensors.keys()) weights.set(k, Float64Array.from(await readTensor(model, k)));
      return { model, spec: model.spec, weights, config: fixtureBytes(name, 'config.json') };
    })());
  }
  return cache.get(name)!;
}

/** Random float32 parameters of every adapted layer (B and the router non-zero, gates off 0). */
function randomParams(spec: ModelSpec, cfg: AdapterConfig, seed: number): Map<string, AdapterParams<Float32Array>> {
  const r = rng(seed);
  const f = (n: number, s: number) => Float32Array.from(randn(n, r, s));
  const out = new Map<string, AdapterParams<Float32Array>>();
  for (const { key, lin } of adaptedLayers(spec, cfg)) {
    const d = adapterDims(layerSpec(cfg, lin, 1));
    out.set(key, {
      A: f(d.rA * lin.in, 0.3), B: f(lin.out * d.rB, 0.3), Wr: d.E ? f(d.E * lin.in, 0.5) : null,
      wOmega: d.gated ? f(1, 0.004) : null, wBeta: d.gated ? f(1, 0.004) : null, M: d.mapper ? f(d.E * d.k, 0.5) : null,
    });
  }
  return out;
}

const f64 = (p: Map<string, AdapterParams<Float32Array>>) =>
  new Map([...p].map(([k, v]) => [k, {
    A: Float64Array.from(v.A), B: Float64Array.from(v.B), Wr: v.Wr && Float64Array.from(v.Wr),
    wOmega: v.wOmega && Float64Array.from(v.wOmega), wBeta: v.wBeta && Float64Array.from(v.wBeta), M: v.M && Float64Array.from(v.M),
  }]));

const json = (files: ExportFile[], name: string) => JSON.parse(new TextDecoder().decode(files.find((f) => f.name === name)!.bytes)) as Record<string, unknown>;
const header = (files: ExportFile[], name: string) => readSafetensorsHeader(new Blob([new Uint8Array(files.find((f) => f.name === name)!.bytes)]), name);
const shapes = (h: SafetensorsFile) => Object.fromEntries([...h.tensors.values()].map((t) => [t.name, t.shape]));
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

function intuitionFor(cfg: AdapterConfig, spec: ModelSpec, seed: number): IntuitionRecord | null {
  const d = adapterDims(layerSpec(cfg, adaptedLayers(spec, cfg)[0].lin, 1));
  if (!d.gated) return null;
  const dim = 8;
  // Odd seeds: centred embeddings (the mean travels in intuition.safetensors); even: not centred.
  const mean = seed % 2 ? Float32Array.from(randn(dim, rng(seed + 100))) : null;
  return { source: 'supplied', k: d.k, dim, layer: null, encoder: null, centroids: Float32Array.from(randn(d.k * dim, rng(seed))), mean };
}

const PEFT_KEYS = ['peft_type', 'task_type', 'base_model_name_or_path', 'inference_mode', 'r', 'lora_alpha', 'lora_dropout', 'target_modules', 'fan_in_fan_out', 'bias', 'modules_to_save', 'init_lora_weights'];

describe('PEFT LoRA layout', () => {
  it('GPT-2: transformer.h.N.attn.c_attn keys, lora_A [r, in], lora_B [out, r], fan_in_fan_out', async () => {
    const { spec, config } = await load('tiny-gpt2');
    const cfg: AdapterConfig = { method: 'lora', r: 4, alpha: 8, targets: ['qkv', 'o'] };
    const files = exportPeftLora({ spec, cfg, params: randomParams(spec, cfg, 1), base: { name: 'tiny-gpt2', config } });
    expect(files.map((f) => f.name)).toEqual(['adapter_model.safetensors', 'adapter_config.json']);
    const h = await header(files, 'adapter_model.safetensors');
    expect(h.metadata).toEqual({ format: 'pt' });
    const want: Record<string, number[]> = {};
    for (const l of [0, 1]) {
      want[`base_model.model.transformer.h.${l}.attn.c_attn.lora_A.weight`] = [4, 64];
      want[`base_model.model.transformer.h.${l}.attn.c_attn.lora_B.weight`] = [192, 4];
      want[`base_model.model.transformer.h.${l}.attn.c_proj.lora_A.weight`] = [4, 64];
      want[`base_model.model.transformer.h.${l}.attn.c_proj.lora_B.weight`] = [64, 4];
    }
    expect(shapes(h)).toEqual(want);
    const c = json(files, 'adapter_config.json');
    expect(Object.keys(c).sort()).toEqual([...PEFT_KEYS].sort());
    expect(c).toMatchObject({ peft_type: 'LORA', task_type: 'CAUSAL_LM', r: 4, lora_alpha: 8, fan_in_fan_out: true, bias: 'none', base_model_name_or_path: 'tiny-gpt2' });
    // Only the attention's c_proj is adapted: "attn.c_proj" keeps PEFT off the MLP's c_proj.
    expect(c.target_modules).toEqual(['c_attn', 'attn.c_proj']);
    const all = exportPeftLora({ spec, cfg: { ...cfg, targets: undefined }, params: randomParams(spec, { ...cfg, targets: undefined }, 1), base: { name: null, config: null } });
    expect(json(all, 'adapter_config.json').target_modules).toEqual(['c_attn', 'c_proj', 'c_fc']);
    expect(Object.keys(shapes(await header(all, 'adapter_model.safetensors')))).toContain('base_model.model.transformer.h.1.mlp.c_proj.lora_B.weight');
  });

  it('Llama: model.layers.N.self_attn.q_proj keys (out, in layouts), fan_in_fan_out false', async () => {
    const { spec, config } = await load('tiny-llama');
    const cfg: AdapterConfig = { method: 'lora', r: 8, targets: ['q', 'v', 'down'] };
    const files = await exportAdapter({ spec, cfg, params: randomParams(spec, cfg, 2), base: { name: 'org/tiny-llama', config } });
    const h = await header(files, 'adapter_model.safetensors');
    expect(shapes(h)).toMatchObject({
      'base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight': [8, 64],
      'base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight': [64, 8],
      'base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight': [32, 8],
      'base_model.model.model.layers.1.mlp.down_proj.lora_A.weight': [8, 128],
      'base_model.model.model.layers.1.mlp.down_proj.lora_B.weight': [64, 8],
    });
    expect(h.tensors.size).toBe(2 * 3 * 2);
    const c = json(files, 'adapter_config.json');
    expect(c).toMatchObject({ r: 8, lora_alpha: 8, fan_in_fan_out: false, target_modules: ['q_proj', 'v_proj', 'down_proj'] });
    expect(Object.keys(c).sort()).toEqual([...PEFT_KEYS].sort());
  });
});

describe('mor1e format', () => {
  it("writes the issue's config keys, the module tensors and the centroids", async () => {
    const { spec, config } = await load('tiny-gpt2');
    const cfg: AdapterConfig = { method: 'trex', r1: 2, r2: 3, topk: 4, k: 5, targets: ['qkv', 'fc'] };
    const intuition: IntuitionRecord = { source: 'model', k: 5, dim: 64, layer: 1, encoder: null, centroids: Float32Array.from(randn(5 * 64, rng(3))) };
    const files = await exportAdapter({ spec, cfg, params: randomParams(spec, cfg, 3), base: { name: 'tiny-gpt2', config }, intuition });
    expect(files.map((f) => f.name)).toEqual(['adapter_model.safetensors', 'mor1e_config.json', 'intuition.safetensors']);
    const c = json(files, 'mor1e_config.json');
    expect(Object.keys(c)).toEqual([
      'format', 'version', 'method', 'r1', 'r2', 'E', 'r', 'topk', 'token_coefficient', 'task_coefficient', 'gate_slope', 'target_modules',
      'base_model_name_or_path', 'base_config_sha256', 'intuition', 'use_router', 'use_intuition', 'lambda_entropy', 'lambda_load_balance',
    ]);
    expect(c).toEqual({
      format: 'mor1e-adapter', version: 1, method: 'trex', r1: 2, r2: 3, E: 6, r: null, topk: 4,
      token_coefficient: 32, task_coefficient: 4, gate_slope: 100, target_modules: ['c_attn', 'c_fc'],
      base_model_name_or_path: 'tiny-gpt2', base_config_sha256: sha256(config),
      intuition: { source: 'model', k: 5, dim: 64, layer: 1, encoder: null, center: false },
      use_router: true, use_intuition: true, lambda_entropy: 0, lambda_load_balance: 0,
    });
    const m = 'base_model.model.transformer.h.0.mlp.c_fc';
    expect(shapes(await header(files, 'adapter_model.safetensors'))).toMatchObject({
      [`${m}.lora_A.weight`]: [2, 64], [`${m}.lora_B.weight`]: [256, 3], [`${m}.router.weight`]: [6, 64],
      [`${m}.omg.weight`]: [1, 1], [`${m}.binary_main_gate_weight.weight`]: [1, 1], [`${m}.rank1_flex_mapper.weight`]: [6, 5],
    });
    expect(shapes(await header(files, 'intuition.safetensors'))).toEqual({ centroids: [5, 64] });
  });

  it('sizes per method; no mapper when k = E; no intuition.safetensors with source none', async () => {
    const { spec } = await load('tiny-llama');
    const base = { name: null, config: null };
    const mor1e = await exportMor1e({ spec, cfg: { method: 'mor1e', E: 4 }, params: randomParams(spec, { method: 'mor1e', E: 4 }, 4), base });
    expect(mor1e.map((f) => f.name)).toEqual(['adapter_model.safetensors', 'mor1e_config.json']);
    expect(json(mor1e, 'mor1e_config.json')).toMatchObject({ method: 'mor1e', r1: 4, r2: 4, E: 4, r: null, topk: null, base_config_sha256: null, intuition: { source: 'none', k: 4, dim: null } });
    expect(Object.keys(shapes(await header(mor1e, 'adapter_model.safetensors'))).some((k) => k.includes('rank1_flex_mapper'))).toBe(false);
    const sira = await exportMor1e({ spec, cfg: { method: 'sira', r: 16, targets: ['o'] }, params: randomParams(spec, { method: 'sira', r: 16, targets: ['o'] }, 5), base });
    expect(json(sira, 'mor1e_config.json')).toMatchObject({ method: 'sira', r1: null, r2: null, E: 8, r: 16, topk: 6, intuition: { source: 'none', k: null } });
    expect(shapes(await header(sira, 'adapter_model.safetensors'))).toEqual({
      'base_model.model.model.layers.0.self_attn.o_proj.lora_A.weight': [16, 64], 'base_model.model.model.layers.0.self_attn.o_proj.lora_B.weight': [64, 16],
      'base_model.model.model.layers.0.self_attn.o_proj.router.weight': [8, 64],
      'base_model.model.model.layers.1.self_attn.o_proj.lora_A.weight': [16, 64], 'base_model.model.model.layers.1.self_attn.o_proj.lora_B.weight': [64, 16],
      'base_model.model.model.layers.1.self_attn.o_proj.router.weight': [8, 64],
    });
  });

  it('refuses what does not fit: missing parameters, a wrong intuition, a LoRA or trex in the other format', async () => {
    const { spec } = await load('tiny-gpt2');
    const base = { name: null, config: null };
    const cfg: AdapterConfig = { method: 'trex', r1: 2, r2: 2 };
    const params = randomParams(spec, cfg, 6);
    params.delete('1.fc');
    await expect(exportMor1e({ spec, cfg, params, base })).rejects.toThrow(/no parameters for adapted layer 1\.fc \(transformer\.h\.1\.mlp\.c_fc\)/);
    const full = randomParams(spec, cfg, 6);
    await expect(exportMor1e({ spec, cfg, params: full, base, intuition: { source: 'supplied', k: 3, dim: 2, layer: null, encoder: null, centroids: new Float32Array(6) } })).rejects.toThrow(/k = 3 clusters but the adapter reads 4/);
    full.get('0.qkv')!.B = new Float32Array(5);
    await expect(exportMor1e({ spec, cfg, params: full, base })).rejects.toThrow(AdapterExportError);
    expect(() => exportPeftLora({ spec, cfg, params: randomParams(spec, cfg, 6), base })).toThrow(/PEFT's LoRA layout holds plain LoRA only/);
    await expect(exportMor1e({ spec, cfg: { method: 'lora', r: 2 }, params: randomParams(spec, { method: 'lora', r: 2 }, 6), base })).rejects.toThrow(/PEFT's layout/);
  });
});

const METHODS: Array<[string, AdapterConfig]> = [
  ['trex top-k with a mapper', { method: 'trex', r1: 2, r2: 3, topk: 4, k: 5 }],
  ['trex dense, router only', { method: 'trex', r1: 2, r2: 2, useIntuition: false, lambdaH: 0.01, lambdaLB: 0.02, targets: ['o', 'down', 'proj'] }],
  ['mor1e dense', { method: 'mor1e', E: 4 }],
  ['lora', { method: 'lora', r: 4, alpha: 12 }],
  ['molora', { method: 'molora', r: 16 }],
  ['sira', { method: 'sira', r: 8 }],
];

describe('export → import round trip', () => {
  for (const model of ['tiny-gpt2', 'tiny-llama']) {
    for (const [label, cfg] of METHODS) {
      it(`${model}: ${label}`, async () => {
        const { spec, weights, config } = await load(model);
        const params = randomParams(spec, cfg, 7);
        const intuition = intuitionFor(cfg, spec, 8);
        const files = await exportAdapter({ spec, cfg, params, base: { name: model, config }, intuition });
        const back = await importAdapter(files, { spec, config, name: model });
        expect(back.format).toBe(cfg.method === 'lora' ? 'peft' : 'mor1e');
        expect(back.warnings).toEqual([]);
        expect(back.baseModel).toBe(model);
        expect([...back.params.keys()]).toEqual([...params.keys()]);
        for (const [key, p] of params) expect(back.params.get(key)).toEqual(p);
        // The config means the same adapter: layers, sizes, routing, ablations, regularisers.
        expect(adaptedLayers(spec, back.config).map((l) => l.key)).toEqual(adaptedLayers(spec, cfg).map((l) => l.key));
        const lin = adaptedLayers(spec, cfg)[0].lin;
        expect(adapterDims(layerSpec(back.config, lin, 1))).toEqual(adapterDims(layerSpec(cfg, lin, 1)));
        for (const k of ['method', 'topk', 'useRouter', 'useIntuition', 'lambdaH', 'lambdaLB', 'alpha'] as const) expect(back.config[k] ?? null).toEqual(cfg[k] ?? null);
        if (intuition) expect(back.intuition).toEqual(intuition);
        else expect(back.intuition).toBeNull();
        // Identical arrays give identical logits.
        const d = adapterDims(layerSpec(cfg, lin, 1));
        const s = d.gated ? Array.from(randn(d.k, rng(9))) : null;
        expect(referenceLogits(spec, weights, back.config, f64(back.params), [3, 17, 4, 60, 9], s)).toEqual(referenceLogits(spec, weights, cfg, f64(params), [3, 17, 4, 60, 9], s));
      });
    }
  }

  it('reads a folder upload (a common prefix) and F16 / BF16 adapter tensors', async () => {
    const { spec, config } = await load('tiny-llama');
    const cfg: AdapterConfig = { method: 'lora', r: 2, targets: ['q'] };
    const params = randomParams(spec, cfg, 10);
    const files = exportPeftLora({ spec, cfg, params, base: { name: null, config: null } });
    const h = await header(files, 'adapter_model.safetensors');
    const bf16: Parameters<typeof writeSafetensors>[0] = {};
    for (const t of h.tensors.values()) {
      const v = toFloat32(await readTensorBytes(h, t.name), 'F32');
      bf16[t.name] = { dtype: 'BF16', shape: t.shape, data: new Uint8Array(Uint16Array.from(v, f32ToBf16).buffer) };
    }
    const back = await importAdapter([
      { name: 'my-lora/adapter_config.json', bytes: files[1].bytes }, { name: 'my-lora/adapter_model.safetensors', bytes: writeSafetensors(bf16) },
    ], { spec, config });
    const A = params.get('0.q')!.A;
    expect(maxRelError(back.params.get('0.q')!.A, A, 1)).toBeLessThan(1e-2);
  });
});

describe('merged LoRA export', () => {
  for (const name of ['tiny-gpt2', 'tiny-llama', 'tiny-llama-bf16']) {
    it(`${name}: W + (alpha/r)·B·A in the stored layout and dtype; the merged model's logits equal the adapter's`, async () => {
      const { model, spec, weights, config } = await load(name);
      const cfg: AdapterConfig = { method: 'lora', r: 4, alpha: 6, targets: spec.arch === 'gpt2' ? ['qkv', 'proj'] : ['q', 'v', 'down'] };
      const params = randomParams(spec, cfg, 11);
      const tok = { name: 'tokenizer.json', bytes: fixtureBytes(name, 'tokenizer.json') };
      const tokCfg = { name: 'tokenizer_config.json', bytes: fixtureBytes(name, 'tokenizer_config.json') };
      const files = await exportMerged({ spec, cfg, params, base: { name, config } }, model, [tok, tokCfg, { name: 'model.safetensors', bytes: new Uint8Array(8) }]);
      expect(files.map((f) => f.name)).toEqual(['config.json', 'tokenizer.json', 'tokenizer_config.json', 'model.safetensors']);
      expect(files[0].bytes).toEqual(config);
      expect(files[1].bytes).toEqual(tok.bytes);
      const merged = await openModel(filesFromBlobs(files.map((f) => ({ name: f.name, blob: new Blob([new Uint8Array(f.bytes)]) }))));
      const adapted = new Map(adaptedLayers(spec, cfg).map((l) => [l.lin.w, l]));
      for (const [canonical, t] of model.tensors) {
        const m = merged.tensors.get(canonical)!;
        expect(m.info.name).toBe(t.info.name);
        expect(m.info.dtype).toBe(t.info.dtype);
        const got = await readTensorBytes(m.file, m.info.name);
        const l = adapted.get(canonical);
        if (!l) {
          expect(got).toEqual(await readTensorBytes(t.file, t.info.name));
          continue;
        }
        // W + 1.5·B·A, element by element in the stored layout (GPT-2: (in, out)).
        const p = params.get(l.key)!, W = weights.get(canonical)!, w = toFloat32(got, m.info.dtype);
        const { in: n, out } = l.lin;
        let worst = 0;
        for (let o = 0; o < out; o++)
          for (let i = 0; i < n; i++) {
            let ba = 0;
            for (let k = 0; k < 4; k++) ba += p.B[o * 4 + k] * p.A[k * n + i];
            const at = l.lin.outIn ? o * n + i : i * out + o;
            worst = Math.max(worst, Math.abs(w[at] - (W[at] + 1.5 * ba)) / Math.max(1, Math.abs(W[at] + 1.5 * ba)));
          }
        expect(worst).toBeLessThan(m.info.dtype === 'F32' ? 1e-6 : 4e-3);
      }
      const ids = [3, 17, 4, 60, 9, 11];
      const mw = new Map<string, Float64Array>();
      for (const k of merged.tensors.keys()) mw.set(k, Float64Array.from(await readTensor(merged, k)));
      const withAdapter = referenceLogits(spec, weights, cfg, f64(params), ids);
      // BF16 rounds the merged weights (about 3e-2 here); the LoRA itself moves the logits by about 4.
      expect(maxRelError(referenceForward(spec, mw, ids), withAdapter)).toBeLessThan(name.endsWith('bf16') ? 5e-2 : 1e-5);
      expect(maxRelError(referenceForward(spec, weights, ids), withAdapter)).toBeGreaterThan(1);
    });
  }

  it('refuses routed adapters: their weights depend on each token', async () => {
    const { model, spec, config } = await load('tiny-gpt2');
    const cfg: AdapterConfig = { method: 'trex', r1: 2, r2: 2 };
    await expect(exportMerged({ spec, cfg, params: randomParams(spec, cfg, 12), base: { name: null, config } }, model)).rejects.toThrow(/cannot be merged.*per-cluster/);
  });
});

describe('per-cluster static LoRA', () => {
  const layer: Array<[string, AdapterConfig]> = [
    ['trex top-k with a mapper', { method: 'trex', r1: 3, r2: 4, topk: 5, k: 3 }],
    ['mor1e', { method: 'mor1e', E: 6 }],
    ['molora', { method: 'molora', r: 16 }],
    ['sira', { method: 'sira', r: 8 }],
  ];
  for (const [label, cfg] of layer) {
    it(`${label}: the static LoRA's delta equals the adapter's for a token routed by the frozen weights`, () => {
      const n = 7, m = 5;
      const spec = { ...cfg, T: 1, n, m };
      const d = adapterDims(spec);
      const r = rng(13);
      const p: AdapterParams = {
        A: randn(d.rA * n, r, 0.5), B: randn(m * d.rB, r, 0.5), Wr: randn(d.E * n, r, 1),
        wOmega: d.gated ? Float64Array.from([0.004]) : null, wBeta: d.gated ? Float64Array.from([-0.006]) : null, M: d.mapper ? randn(d.E * d.k, r, 0.7) : null,
      };
      const x = randn(n, r, 1), W0 = randn(m * n, r, 1), bias = randn(m, r, 1);
      const fw = adapterForward(spec, { x, W0, bias, ...p, s: d.gated ? randn(d.k, r, 1) : null });
      const g = fw.routes[0].g;
      const st = staticLoRA(spec, p, g);
      expect(st.r).toBe(cfg.method === 'trex' ? 4 : d.rA);
      for (let o = 0; o < m; o++) {
        let y = bias[o];
        for (let c = 0; c < n; c++) y += W0[o * n + c] * x[c];
        for (let k = 0; k < st.r; k++) {
          let a = 0;
          for (let c = 0; c < n; c++) a += st.A[k * n + c] * x[c];
          y += st.B[o * st.r + k] * a;
        }
        expect(Math.abs(y - fw.y[o])).toBeLessThan(1e-12);
      }
    });
  }

  it('writes one PEFT LoRA folder per cluster that imports as a LoRA of rank r2 (T-REX) with scaling 1', async () => {
    const { spec, config } = await load('tiny-gpt2');
    const cfg: AdapterConfig = { method: 'trex', r1: 2, r2: 3, targets: ['qkv', 'o'] };
    const params = randomParams(spec, cfg, 14);
    const intuition = intuitionFor(cfg, spec, 15)!;
    const clusters = 6;
    const meanRouting = new Map(adaptedLayers(spec, cfg).map((l, i) => [l.key, Float32Array.from(randn(clusters * 6, rng(16 + i), 2))]));
    const files = await exportPerCluster({ spec, cfg, params, base: { name: 'tiny-gpt2', config }, intuition }, { meanRouting, tokens: [5, 4, 3, 2, 1, 0] });
    expect(files.map((f) => f.name)).toEqual([
      ...Array.from({ length: clusters }, (_, c) => [`cluster-0${c}/adapter_model.safetensors`, `cluster-0${c}/adapter_config.json`]).flat(),
      'clusters.json', 'intuition.safetensors',
    ]);
    const manifest = json(files, 'clusters.json');
    expect(manifest).toMatchObject({ format: 'mor1e-per-cluster', method: 'trex', base_config_sha256: sha256(config), intuition: { source: 'supplied', k: 6, dim: 8 } });
    expect((manifest.clusters as unknown[])[5]).toEqual({ folder: 'cluster-05', cluster: 5, tokens: 0 });
    const c2 = files.filter((f) => f.name.startsWith('cluster-02/'));
    expect(json(c2, 'cluster-02/adapter_config.json')).toMatchObject({ r: 3, lora_alpha: 3, target_modules: ['c_attn', 'attn.c_proj'], fan_in_fan_out: true });
    const back = await importAdapter(c2, { spec, config });
    expect(back.config).toMatchObject({ method: 'lora', r: 3, alpha: 3 });
    for (const { key, lin } of adaptedLayers(spec, cfg)) {
      const st = staticLoRA(layerSpec(cfg, lin, 1), params.get(key)!, meanRouting.get(key)!.subarray(2 * 6, 3 * 6));
      expect(back.params.get(key)!.A).toEqual(Float32Array.from(st.A));
      expect(back.params.get(key)!.B).toEqual(Float32Array.from(st.B));
    }
    // beta = sigmoid(100 w_beta) is folded into B.
    const p0 = params.get('0.qkv')!;
    const st = staticLoRA(layerSpec(cfg, adaptedLayers(spec, cfg)[0].lin, 1), p0, new Float32Array(6).fill(1));
    expect(st.B[0]).toBeCloseTo(p0.B[0] / (1 + Math.exp(-GATE_SLOPE * p0.wBeta![0])), 12);
    await expect(importAdapter(files, { spec, config })).rejects.toThrow(/6 files named adapter_config\.json/);
    await expect(exportPerCluster({ spec, cfg, params, base: { name: null, config: null }, intuition }, { meanRouting: new Map([...meanRouting].map(([k, v]) => [k, v.subarray(0, 30)])) })).rejects.toThrow(/5 clusters of routing weights, the intuition has k = 6/);
    const lora: AdapterConfig = { method: 'lora', r: 2 };
    await expect(exportPerCluster({ spec, cfg: lora, params: randomParams(spec, lora, 1), base: { name: null, config: null } }, { meanRouting })).rejects.toThrow(/no routing to freeze/);
  });
});

describe('import refusals', () => {
  async function trexFiles(model = 'tiny-llama') {
    const { spec, config } = await load(model);
    const cfg: AdapterConfig = { method: 'trex', r1: 2, r2: 2, targets: ['q', 'up'] };
    return exportAdapter({ spec, cfg, params: randomParams(spec, cfg, 20), base: { name: model, config }, intuition: intuitionFor(cfg, spec, 21) });
  }
  const replace = (files: ExportFile[], name: string, bytes: Uint8Array | null) =>
    files.filter((f) => f.name !== name).concat(bytes ? [{ name, bytes }] : []);
  const editJson = (files: ExportFile[], name: string, edit: (c: Record<string, unknown>) => void) => {
    const c = json(files, name);
    edit(c);
    return replace(files, name, new TextEncoder().encode(JSON.stringify(c)));
  };
  async function withoutTensor(files: ExportFile[], drop: string | null, add?: [string, number[]]) {
    const h = await header(files, 'adapter_model.safetensors');
    const t: Parameters<typeof writeSafetensors>[0] = {};
    for (const info of h.tensors.values()) if (info.name !== drop) t[info.name] = { dtype: info.dtype, shape: info.shape, data: await readTensorBytes(h, info.name) };
    if (add) t[add[0]] = { dtype: 'F32', shape: add[1], data: new Uint8Array(4 * add[1].reduce((a, b) => a * b, 1)) };
    return replace(files, 'adapter_model.safetensors', writeSafetensors(t));
  }

  it('a wrong model: module names, shapes, the base config hash', async () => {
    const gpt2 = await load('tiny-gpt2');
    const llama = await load('tiny-llama');
    const qwen = await load('tiny-qwen2');
    const f16 = await load('tiny-llama-f16');
    const files = await trexFiles();
    await expect(importAdapter(files, { spec: gpt2.spec, config: null })).rejects.toThrow(/"target_modules" \["q_proj","up_proj"\] match no linear layer of this gpt2 model/);
    // Same module names, another intermediate size (Qwen2's 96 against Llama's 128): PEFT has no hash, the shapes refuse.
    const cfg: AdapterConfig = { method: 'lora', r: 2, targets: ['up'] };
    const lora = exportPeftLora({ spec: llama.spec, cfg, params: randomParams(llama.spec, cfg, 22), base: { name: null, config: null } });
    await expect(importAdapter(lora, { spec: qwen.spec, config: qwen.config })).rejects.toThrow(
      /tensor "base_model\.model\.model\.layers\.0\.mlp\.up_proj\.lora_B\.weight" has shape \[128, 2\] but this model's model\.layers\.0\.mlp\.up_proj \(64 → 96\)/,
    );
    // Same shapes, another config.json (the F16 copy): the hash refuses.
    await expect(importAdapter(files, { spec: f16.spec, config: f16.config })).rejects.toThrow(/base_config_sha256 [0-9a-f]{12}… does not match the loaded model's config\.json/);
    const unchecked = await importAdapter(files, { spec: f16.spec, config: null, name: 'other/model' });
    expect(unchecked.warnings).toEqual(["the base model's config.json was not given: base_config_sha256 not checked", 'the adapter was made for tiny-llama, the loaded model is other/model']);
  });

  it('missing, extra and non-finite tensors; missing files', async () => {
    const { spec, config } = await load('tiny-llama');
    const files = await trexFiles();
    const key = 'base_model.model.model.layers.1.mlp.up_proj.router.weight';
    await expect(importAdapter(await withoutTensor(files, key), { spec, config })).rejects.toThrow(`adapter_model.safetensors: missing tensor "${key}" (Wr of model.layers.1.mlp.up_proj, [4, 64])`);
    const extra = 'base_model.model.model.layers.0.self_attn.k_proj.lora_A.weight';
    await expect(importAdapter(await withoutTensor(files, null, [extra, [2, 64]]), { spec, config })).rejects.toThrow(`tensor "${extra}" belongs to no module the config adapts`);
    await expect(importAdapter(replace(files, 'intuition.safetensors', null), { spec, config })).rejects.toThrow(/intuition\.safetensors is missing; the config's intuition source is "supplied"/);
    await expect(importAdapter(replace(files, 'intuition.safetensors', writeSafetensors({ centroids: { dtype: 'F32', shape: [4, 7], data: new Uint8Array(112) } })), { spec, config }))
      .rejects.toThrow(/tensor "centroids" has shape \[4, 7\] but mor1e_config\.json's intuition needs \[4, 8\]/);
    // trexFiles' intuition is centred (seed 21): the mean must be there, dim long.
    expect(json(files, 'mor1e_config.json')).toMatchObject({ intuition: { center: true } });
    expect(shapes(await header(files, 'intuition.safetensors'))).toEqual({ centroids: [4, 8], mean: [8] });
    const centroidsOnly = writeSafetensors({ centroids: { dtype: 'F32', shape: [4, 8], data: new Uint8Array(128) } });
    await expect(importAdapter(replace(files, 'intuition.safetensors', centroidsOnly), { spec, config })).rejects.toThrow(/intuition\.safetensors: missing tensor "mean" \(dim = 8\); mor1e_config\.json's intuition says the embeddings were centred/);
    const shortMean = writeSafetensors({ centroids: { dtype: 'F32', shape: [4, 8], data: new Uint8Array(128) }, mean: { dtype: 'F32', shape: [7], data: new Uint8Array(28) } });
    await expect(importAdapter(replace(files, 'intuition.safetensors', shortMean), { spec, config })).rejects.toThrow(/tensor "mean" has shape \[7\] but mor1e_config\.json's intuition needs \[8\]/);
    await expect(importAdapter(editJson(files, 'mor1e_config.json', (c) => ((c.intuition as Record<string, unknown>).center = 'yes')), { spec, config })).rejects.toThrow(/"intuition\.center" must be true or false, got "yes"/);
    await expect(importAdapter(replace(files, 'adapter_model.safetensors', null), { spec, config })).rejects.toThrow(/adapter_model\.safetensors is missing/);
    await expect(importAdapter(replace(files, 'adapter_model.safetensors', new Uint8Array(4)), { spec, config })).rejects.toThrow(AdapterImportError);
    await expect(importAdapter(replace(files, 'mor1e_config.json', null), { spec, config })).rejects.toThrow(/neither mor1e_config\.json nor adapter_config\.json/);
    const h = await header(files, 'adapter_model.safetensors');
    const t: Parameters<typeof writeSafetensors>[0] = {};
    for (const info of h.tensors.values()) t[info.name] = { dtype: info.dtype, shape: info.shape, data: await readTensorBytes(h, info.name) };
    const omg = 'base_model.model.model.layers.0.self_attn.q_proj.omg.weight';
    t[omg] = { dtype: 'F32', shape: [1, 1], data: new Uint8Array(Float32Array.from([NaN]).buffer) };
    await expect(importAdapter(replace(files, 'adapter_model.safetensors', writeSafetensors(t)), { spec, config })).rejects.toThrow(`tensor "${omg}" holds a non-finite value`);
  });

  it('a bad mor1e config', async () => {
    const { spec, config } = await load('tiny-llama');
    const files = await trexFiles();
    const cases: Array<[(c: Record<string, unknown>) => void, RegExp]> = [
      [(c) => (c.format = 'other'), /"format" must be "mor1e-adapter"/],
      [(c) => (c.version = 2), /"version" must be 1/],
      [(c) => (c.method = 'foo'), /"method" must be "trex", "mor1e", "molora" or "sira"/],
      [(c) => (c.method = 'lora'), /a LoRA adapter is read in PEFT's layout/],
      [(c) => (c.gate_slope = 50), /"gate_slope" must be 100/],
      [(c) => (c.task_coefficient = 3), /"task_coefficient" must be 4/],
      [(c) => (c.E = 5), /"E" must be r1 x r2 = 4/],
      [(c) => (c.r1 = 0), /"r1" must be a positive integer/],
      [(c) => (c.topk = 9), /"topk" must be null \(dense\) or an integer in 1\.\.4/],
      [(c) => (c.target_modules = []), /"target_modules" must be a non-empty list/],
      [(c) => (c.target_modules = 'model\\.layers\\.0\\.self_attn\\.q_proj'), /leave out model\.layers\.1\.self_attn\.q_proj/],
      [(c) => (c.intuition = null), /"intuition" must be an object/],
      [(c) => ((c.intuition as Record<string, unknown>).source = 'web'), /"intuition\.source" must be one of model, encoder, supplied, none/],
      [(c) => ((c.intuition as Record<string, unknown>).k = 0), /"intuition\.k" \(the width of the scores s\) must be a positive integer/],
      [(c) => (c.base_config_sha256 = 'abc'), /"base_config_sha256" must be null or a 64-digit hex SHA-256/],
      [(c) => (c.use_router = 'yes'), /"use_router" must be true or false/],
    ];
    for (const [edit, msg] of cases) await expect(importAdapter(editJson(files, 'mor1e_config.json', edit), { spec, config })).rejects.toThrow(msg);
    // k ≠ E without the mapper tensors in the file.
    await expect(importAdapter(editJson(files, 'mor1e_config.json', (c) => ((c.intuition as Record<string, unknown>).k = 3)), { spec, config })).rejects.toThrow(/missing tensor ".*rank1_flex_mapper\.weight"/);
    await expect(importAdapter(replace(files, 'mor1e_config.json', new TextEncoder().encode('{"format": ')), { spec, config })).rejects.toThrow(/mor1e_config\.json is not valid JSON/);
  });

  it('a bad PEFT config', async () => {
    const { spec, config } = await load('tiny-gpt2');
    const cfg: AdapterConfig = { method: 'lora', r: 2 };
    const files = exportPeftLora({ spec, cfg, params: randomParams(spec, cfg, 23), base: { name: null, config: null } });
    const cases: Array<[(c: Record<string, unknown>) => void, RegExp]> = [
      [(c) => (c.peft_type = 'IA3'), /"peft_type" is "IA3"; only LORA adapters load here/],
      [(c) => (c.task_type = 'SEQ_CLS'), /"task_type" "SEQ_CLS" is not CAUSAL_LM/],
      [(c) => (c.use_dora = true), /"use_dora" = true is not supported/],
      [(c) => (c.use_rslora = true), /"use_rslora" = true is not supported/],
      [(c) => (c.bias = 'all'), /"bias" = "all" is not supported/],
      [(c) => (c.modules_to_save = ['lm_head']), /"modules_to_save" = \["lm_head"\] is not supported/],
      [(c) => (c.layers_to_transform = [0]), /"layers_to_transform" = \[0\] is not supported/],
      [(c) => (c.r = 3), /tensor "base_model\.model\.transformer\.h\.0\.attn\.c_attn\.lora_A\.weight" has shape \[2, 64\] but .* needs \[3, 64\]/],
      [(c) => (c.r = 'two'), /"r" must be a positive integer/],
      [(c) => (c.target_modules = ['c_attn']), /tensor "base_model\.model\.transformer\.h\.0\.attn\.c_proj\.lora_A\.weight" .*belongs to no module/],
    ];
    for (const [edit, msg] of cases) await expect(importAdapter(editJson(files, 'adapter_config.json', edit), { spec, config })).rejects.toThrow(msg);
    // PEFT's "all-linear" and a pattern select the same layers as the explicit list.
    for (const t of ['all-linear', 'transformer\\.h\\.\\d+\\.(attn|mlp)\\.c_\\w+']) {
      const back = await importAdapter(editJson(files, 'adapter_config.json', (c) => (c.target_modules = t)), { spec, config });
      expect(back.config.targets).toEqual(['qkv', 'o', 'fc', 'proj']);
    }
  });
});

describe('PyTorch goldens (scripts/export_fixtures.py)', () => {
  const dirs = readdirSync(ADAPTERS_DIR).sort();
  it('has every method for GPT-2 and Llama', () => {
    expect(dirs).toEqual(['gpt2', 'llama'].flatMap((m) => ['lora', 'molora', 'mor1e', 'sira', 'trex'].map((x) => `tiny-${m}-${x}`)));
  });
  for (const dir of dirs) {
    it(`${dir}: imported and run by the float64 reference, within 1e-4 of PyTorch`, async () => {
      const g = JSON.parse(readFileSync(join(ADAPTERS_DIR, dir, 'golden.json'), 'utf8')) as { model: string; method: string; ids: number[]; s: number[] | null; logits: number[] };
      const { spec, weights } = await load(g.model);
      const files = readdirSync(join(ADAPTERS_DIR, dir)).filter((f) => f !== 'golden.json').map((f) => ({ name: f, bytes: new Uint8Array(readFileSync(join(ADAPTERS_DIR, dir, f))) }));
      const a = await importAdapter(files, { spec, config: new Uint8Array(readFileSync(join(MODELS_DIR, g.model, 'config.json'))), name: g.model });
      expect(a.config.method).toBe(g.method);
      expect(a.warnings).toEqual([]);
      if (g.s) expect(a.intuition?.k).toBe(g.s.length);
      const logits = referenceLogits(spec, weights, a.config, f64(a.params), g.ids, g.s);
      expect(logits.length).toBe(g.logits.length);
      let worst = 0;
      for (let i = 0; i < logits.length; i++) worst = Math.max(worst, Math.abs(logits[i] - g.logits[i]));
      expect(worst).toBeLessThan(1e-4);
    });
  }
});

describe('import from the .zip an export downloads', () => {
  it('a zipped mor1e adapter reads back as its files do; a per-cluster zip and a broken zip are refused by name', async () => {
    const { zipSync } = await import('fflate');
    const { spec, config } = await load('tiny-gpt2');
    const cfg: AdapterConfig = { method: 'trex', r1: 2, r2: 2 };
    const params = randomParams(spec, cfg, 3);
    const files = await exportAdapter({ spec, cfg, params, base: { name: 'tiny-gpt2', config }, intuition: intuitionFor(cfg, spec, 4) });
    // As the Export step zips a download (src/ui/ExportPanel.tsx).
    const zip = (fs: { name: string; bytes: Uint8Array }[]) => zipSync(Object.fromEntries(fs.map((f) => [f.name, f.bytes])));
    const back = await importAdapter([{ name: 'mor1e-tiny-adapter.zip', bytes: zip(files) }], { spec, config, name: 'tiny-gpt2' });
    const plain = await importAdapter(files, { spec, config, name: 'tiny-gpt2' });
    expect(back.config).toEqual(plain.config);
    expect(back.params).toEqual(plain.params);
    expect(back.intuition).toEqual(plain.intuition);
    // Recognised by its bytes too (a download renamed without .zip).
    expect((await importAdapter([{ name: 'adapter.bin', bytes: zip(files) }], { spec, config })).params).toEqual(plain.params);
    // A zip that holds one folder reads like the folder.
    expect((await importAdapter([{ name: 'a.zip', bytes: zip(files.map((f) => ({ ...f, name: `my-adapter/${f.name}` }))) }], { spec, config })).params).toEqual(plain.params);
    const twice = [...files.map((f) => ({ ...f, name: `c0/${f.name}` })), ...files.map((f) => ({ ...f, name: `c1/${f.name}` }))];
    await expect(importAdapter([{ name: 'per-cluster.zip', bytes: zip(twice) }], { spec, config })).rejects.toThrow(/2 files named mor1e_config\.json \(per-cluster\.zip\/c0\/mor1e_config\.json, per-cluster\.zip\/c1\/mor1e_config\.json\)/);
    // A merged model's zip: its weights are not inflated, and the refusal lists what it holds.
    const merged = zip([{ name: 'config.json', bytes: new TextEncoder().encode('{}') }, { name: 'model.safetensors', bytes: new Uint8Array(64) }]);
    expect(expandZips([{ name: 'm.zip', bytes: merged }])).toEqual([{ name: 'm.zip/config.json', bytes: new Uint8Array(0) }, { name: 'm.zip/model.safetensors', bytes: new Uint8Array(0) }]);
    await expect(importAdapter([{ name: 'm.zip', bytes: merged }], { spec, config })).rejects.toThrow('neither mor1e_config.json nor adapter_config.json among the files (m.zip/config.json, m.zip/model.safetensors)');
    const broken = zip(files).slice(0, 200);
    await expect(importAdapter([{ name: 'cut.zip', bytes: broken }], { spec, config })).rejects.toThrow(/^import: cut\.zip is not a readable zip archive \(.+\)/);
  });
});
