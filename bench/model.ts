// Model benchmarks, shared by the browser page and the Node runner: safetensors parse + upload
// throughput for a 100 MB file, and forward / decode tokens per second of a model.
import type { Engine } from '../src/gpu/engine.ts';
import { readSafetensorsHeader, readTensorBytes, writeSafetensors, type TensorToWrite } from '../src/model/safetensors.ts';
import { toFloat32, type DType } from '../src/model/dtype.ts';
import { openModel } from '../src/model/load.ts';
import { GpuModel } from '../src/model/gpuModel.ts';
import { filesFromBlobs, type ModelFiles } from '../src/model/sources.ts';
import { generate } from '../src/model/generate.ts';
import { matmulTuning } from '../src/ops/matmul.ts';
import { round, timeRuns } from './timing.ts';
import type { ResultRow } from './results.mjs';

/** A ~100 MB safetensors file of 25 tensors (1000 x 1000 F32, or 2000 x 1000 of a 16-bit type). */
export function syntheticSafetensors(dtype: DType): Blob {
  const tensors: Record<string, TensorToWrite> = {};
  const rows = dtype === 'F32' ? 1000 : 2000;
  for (let i = 0; i < 25; i++) {
    const data = new Uint8Array(rows * 1000 * (dtype === 'F32' ? 4 : 2));
    for (let j = 0; j < data.length; j += 4099) data[j] = (i * 31 + j) & 0x3f; // finite values, not all zero
    tensors[`layer.${i}.weight`] = { dtype, shape: [rows, 1000], data };
  }
  return new Blob([writeSafetensors(tensors) as BlobPart]);
}

export async function benchSafetensors(engine: Engine, adapter: string, dtype: DType, runs: number): Promise<ResultRow> {
  const blob = syntheticSafetensors(dtype);
  const t = await timeRuns(async () => {
    const file = await readSafetensorsHeader(blob, 'bench.safetensors');
    const buffers: GPUBuffer[] = [];
    for (const name of file.tensors.keys()) buffers.push(engine.createBuffer(name, toFloat32(await readTensorBytes(file, name), file.tensors.get(name)!.dtype)));
    await engine.submit();
    for (const b of buffers) b.destroy();
  }, { runs, warmup: 1 });
  return {
    bench: 'safetensors_load', shape: `${(blob.size / 1e6).toFixed(0)} MB ${dtype}`, adapter,
    mb_per_s: round(blob.size / 1e6 / (t.medianMs / 1000)), ms: round(t.medianMs, 4), runs,
    note: 'parse + read each tensor slice + convert to f32 + upload, until the GPU queue is done',
  };
}

export async function benchForward(engine: Engine, adapter: string, files: ModelFiles, name: string, runs: number): Promise<ResultRow[]> {
  const opened = await openModel(files);
  const model = await GpuModel.load(engine, opened);
  try {
    const T = Math.min(64, model.spec.maxPositions);
    const ids = Array.from({ length: T }, (_, i) => (i * 37) % model.spec.vocabSize);
    const fwd = await timeRuns(async () => void (await model.logits(ids)), { runs });
    // Decode: prefill the cache (untimed), then time `steps` single-token steps.
    const steps = 16;
    const decodeMs: number[] = [];
    for (let r = 0; r < Math.max(1, Math.floor(runs / 2)) + 1; r++) {
      const cache = model.createCache(T + steps);
      await model.nextLogits(ids, cache);
      const t0 = performance.now();
      for (let i = 0; i < steps; i++) await model.nextLogits([i % model.spec.vocabSize], cache);
      if (r > 0) decodeMs.push(performance.now() - t0); // run 0 is the warm-up
      model.destroyCache(cache);
    }
    decodeMs.sort((a, b) => a - b);
    const dec = decodeMs[Math.floor(decodeMs.length / 2)];
    return [
      {
        bench: 'forward', shape: `${name} (${opened.parameters.toLocaleString('en-US')} params) T=${T}`, adapter,
        tokens_per_s: round((T / fwd.medianMs) * 1000), ms: round(fwd.medianMs, 4), runs, note: 'full forward + logits readback',
      },
      {
        bench: 'decode', shape: `${name} prompt ${T} + ${steps} tokens`, adapter,
        tokens_per_s: round((steps / dec) * 1000), ms: round(dec, 4), runs: decodeMs.length,
        note: 'KV-cache decode, one token per step with last-row logits readback (prefill untimed)',
      },
    ];
  } finally {
    model.destroy();
  }
}

/**
 * KV-cache generation before and after matmul_skinny: greedy `generate` from a `prompt`-token
 * prompt for `tokens` new tokens, with `matmulTuning.skinnyMaxM` = 0 (every projection on the
 * 64 x 64-tile kernel, the old path) and at its default (M ≤ 16 on matmul_skinny), alternating
 * run by run after one warm-up each. Prefill = time to the first new token (the prompt's pass,
 * itself a short prompt of `prompt` rows); decode = the tokens after it, one KV-cache step each
 * (a pass at M = 1 and the last row's logits read back). Both paths must produce the same ids.
 */
export async function benchDecodePaths(
  engine: Engine, adapter: string, files: ModelFiles, name: string, opts: { runs: number; prompt?: number; tokens?: number; warmupTokens?: number },
): Promise<ResultRow[]> {
  const opened = await openModel(files);
  const model = await GpuModel.load(engine, opened);
  const P = opts.prompt ?? 8, n = opts.tokens ?? 16;
  const ids = Array.from({ length: P }, (_, i) => (i * 37 + 5) % model.spec.vocabSize);
  const saved = matmulTuning.skinnyMaxM;
  const paths = [{ path: 'tiled (before)', maxM: 0 }, { path: 'skinny (after)', maxM: saved }];
  const once = async (maxM: number, tokens: number) => {
    matmulTuning.skinnyMaxM = maxM;
    const t0 = performance.now();
    const stamps: number[] = [];
    const out = await generate(model, ids, { maxNewTokens: tokens, temperature: 0 }, () => stamps.push(performance.now()));
    return { out, prefillMs: stamps[0] - t0, decodeMs: (stamps[stamps.length - 1] - stamps[0]) / (stamps.length - 1) };
  };
  try {
    const results = paths.map(() => ({ prefill: [] as number[], decode: [] as number[], ids: [] as number[] }));
    // Warm-up (pipelines compile here), then timed runs alternating the two paths.
    for (const p of paths) await once(p.maxM, Math.max(2, Math.min(n, opts.warmupTokens ?? n)));
    for (let r = 0; r < opts.runs; r++) {
      for (let i = 0; i < paths.length; i++) {
        const x = await once(paths[i].maxM, n);
        results[i].ids = x.out;
        results[i].prefill.push(x.prefillMs);
        results[i].decode.push(x.decodeMs);
      }
    }
    const same = results[0].ids.join() === results[1].ids.join();
    if (!same) throw new Error(`decode: the tiled and skinny paths generated different ids: ${results[0].ids} vs ${results[1].ids}`);
    const med = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
    const base = med(results[0].decode);
    return paths.map((p, i) => ({
      bench: 'decode_paths',
      shape: `${name} prompt ${P} + ${n} tokens, ${p.path}`,
      adapter,
      tokens_per_s: round(1000 / med(results[i].decode)),
      ms_per_token: round(med(results[i].decode), 4),
      prefill_ms: round(med(results[i].prefill), 4),
      speedup: round(base / med(results[i].decode)),
      same_ids: same ? 1 : 0,
      runs: opts.runs,
      note: 'greedy generate with the KV cache; decode = tokens after the first, each a pass at M = 1 + last-row logits readback',
    }));
  } finally {
    matmulTuning.skinnyMaxM = saved;
    model.destroy();
  }
}

/**
 * A SmolLM2-135M-shaped Llama folder in memory (HuggingFaceTB/SmolLM2-135M's config.json: 30
 * blocks, hidden 576, MLP 1536, 9 heads / 3 KV heads, 49,152-token vocabulary, tied head) with
 * seeded pseudo-random BF16 weights (±1/√in, one random block tiled; norms 1) and the tiny-llama
 * fixture's tokenizer (its ids fit the vocabulary). 270 MB of BF16, 540 MB of f32 on the GPU.
 * `tokenizerFile` reads the fixture's tokenizer files (default: fetched from the page's server).
 */
export async function smolLM2ShapeFiles(tokenizerFile?: (name: string) => Promise<Blob>): Promise<ModelFiles> {
  const H = 576, I = 1536, L = 30, NH = 9, NKV = 3, V = 49152, D = H / NH;
  const block = new Uint16Array(1 << 20);
  let seed = 7;
  const f32 = new Float32Array(1), u32 = new Uint32Array(f32.buffer);
  for (let i = 0; i < block.length; i++) {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    f32[0] = (seed / 4294967296 - 0.5) * (2 / Math.sqrt(H));
    block[i] = u32[0] >>> 16;
  }
  const tensors: Record<string, TensorToWrite> = {};
  const weight = (shape: number[], ones = false): TensorToWrite => {
    const n = shape.reduce((a, d) => a * d, 1);
    const data = new Uint16Array(n);
    if (ones) data.fill(0x3f80);
    else for (let i = 0; i < n; i += block.length) data.set(block.subarray(0, Math.min(block.length, n - i)), i);
    return { dtype: 'BF16', shape, data: new Uint8Array(data.buffer) };
  };
  tensors['model.embed_tokens.weight'] = weight([V, H]);
  for (let l = 0; l < L; l++) {
    const p = `model.layers.${l}`;
    tensors[`${p}.input_layernorm.weight`] = weight([H], true);
    tensors[`${p}.self_attn.q_proj.weight`] = weight([NH * D, H]);
    tensors[`${p}.self_attn.k_proj.weight`] = weight([NKV * D, H]);
    tensors[`${p}.self_attn.v_proj.weight`] = weight([NKV * D, H]);
    tensors[`${p}.self_attn.o_proj.weight`] = weight([H, NH * D]);
    tensors[`${p}.post_attention_layernorm.weight`] = weight([H], true);
    tensors[`${p}.mlp.gate_proj.weight`] = weight([I, H]);
    tensors[`${p}.mlp.up_proj.weight`] = weight([I, H]);
    tensors[`${p}.mlp.down_proj.weight`] = weight([H, I]);
  }
  tensors['model.norm.weight'] = weight([H], true);
  const config = {
    architectures: ['LlamaForCausalLM'], model_type: 'llama', vocab_size: V, hidden_size: H, intermediate_size: I, num_hidden_layers: L,
    num_attention_heads: NH, num_key_value_heads: NKV, max_position_embeddings: 8192, rms_norm_eps: 1e-5, rope_theta: 100000, hidden_act: 'silu',
    tie_word_embeddings: true, attention_bias: false, rope_scaling: null, bos_token_id: 1, eos_token_id: 2, torch_dtype: 'bfloat16',
  };
  // The page fetches the fixture from the dev server; the Node runner passes a file reader.
  const fixture = '/e2e/fixtures/models/tiny-llama/';
  const text = tokenizerFile ?? (async (f: string) => new Blob([await (await fetch(fixture + f)).text()]));
  return filesFromBlobs([
    { name: 'config.json', blob: new Blob([JSON.stringify(config)]) },
    { name: 'model.safetensors', blob: new Blob([writeSafetensors(tensors) as BlobPart]) },
    { name: 'tokenizer.json', blob: await text('tokenizer.json') },
    { name: 'tokenizer_config.json', blob: await text('tokenizer_config.json') },
  ], 'SmolLM2-135M shape (random BF16 weights)');
}
