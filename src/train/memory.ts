// What a training step will allocate, before a run starts: the frozen weights, the adapters
// (value, gradient and two AdamW moments each), and one micro-batch's peak of pooled buffers as
// the trainer allocates them (each rounded up to the pool's size class): every block's saved
// activations and its adapters' saved tensors (alive until the backward reaches the block), the
// head and loss in chunks of at most the trainer's logit chunk, and one block's backward
// temporaries (each block's are recycled for the next within the submission). A step whose
// largest buffer exceeds the device's binding limit, or whose total exceeds a budget, is refused
// with a concrete suggestion instead of failing inside WebGPU. e2e/finetune.spec.ts checks the
// estimate against the pool's measured peak.
import type { ModelSpec } from '../model/config.ts';
import { BufferPool } from '../gpu/pool.ts';
import { adapterSavedSizes, adapterStatsScratchFloats } from '../ops/adapter.ts';
import { adaptedLayers, layerSpec, type AdapterConfig } from './config.ts';
import { adapterDims } from '../adapters/spec.ts';
import { LOGIT_CHUNK_BYTES } from './trainer.ts';

const MiB = 2 ** 20;

export interface MemoryEstimate {
  weightBytes: number;
  adapterBytes: number;
  activationBytes: number;
  totalBytes: number;
  largest: { name: string; bytes: number };
}

/** The step's buffers for micro-batches of B sequences of T tokens. */
export function estimateStep(spec: ModelSpec, weightBytes: number, cfg: AdapterConfig, B: number, T: number, tasks = 1, logitChunkBytes = LOGIT_CHUNK_BYTES): MemoryEstimate {
  const N = B * T, C = spec.hidden, D = spec.headDim, NH = spec.heads, NKV = spec.kvHeads, I = spec.intermediate, V = spec.vocabSize;
  const bufs: Array<[string, number]> = [];
  const add = (name: string, floats: number) => bufs.push([name, floats * 4]);
  const gpt2 = spec.arch === 'gpt2';
  const times = (n: number, name: string, floats: number) => {
    for (let i = 0; i < n; i++) add(name, floats);
  };
  // Saved by the forward, alive until the backward reaches each block.
  add('x0', N * C);
  for (let l = 0; l < spec.layers; l++) {
    add('h1', N * C); times(4, 'norm stats', N);
    if (gpt2) add('qkv', N * 3 * C);
    else { times(2, 'q', N * NH * D); times(2, 'k', N * NKV * D); add('v', N * NKV * D); }
    add('att', N * NH * D); add('lse', N * NH); add('xm', N * C); add('h2', N * C); add('out', N * C);
    times(gpt2 ? 2 : 3, 'mlp', N * I);
  }
  // The final norm, the chunked head and loss, and the residual gradient.
  add('xf', N * C); times(2, 'norm stats', N); add('losses', N); add('dxf', N * C); add('dx', N * C);
  const rows = Math.max(1, Math.min(N, Math.floor(logitChunkBytes / (V * 4))));
  add('logits', rows * V);
  if (rows < N) { add('xf chunk', rows * C); add('losses chunk', rows); add('dxf chunk', rows * C); }
  // One block's backward temporaries (recycled block to block).
  add('dh2', N * C); times(gpt2 ? 2 : 3, 'dmlp', N * I); add('datt', N * NH * D); add('dh1', N * C);
  if (gpt2) add('dqkv', N * 3 * C);
  else { times(2, 'dq', N * NH * D); times(2, 'dk', N * NKV * D); add('dv', N * NKV * D); }
  let adapterFloats = 0;
  for (const { key, lin } of adaptedLayers(spec, cfg)) {
    const s = layerSpec(cfg, lin, N);
    const d = adapterDims(s);
    // Saved by the adapter's forward (its statistics live in a persistent buffer), and its backward's [dz | da].
    for (const [k, n] of Object.entries(adapterSavedSizes(s, 1 + tasks))) if (n && k !== 'stats') add(`${key}.${k}`, n);
    add(`${key}.dproj`, N * (d.E + d.rA));
    // The router statistics' partial sums (scratch of the forward, alive until the submission).
    const partials = adapterStatsScratchFloats(s, 1 + tasks);
    if (partials) add(`${key}.statsPartials`, partials);
    adapterFloats += d.E * lin.in + d.rA * lin.in + d.rB * lin.out + (d.gated ? 2 : 0) + (d.mapper ? d.E * d.k : 0);
  }
  const activationBytes = bufs.reduce((a, [, b]) => a + BufferPool.bucket(b), 0);
  const adapterBytes = 4 * adapterFloats * 4;
  const largest = bufs.reduce((a, [name, bytes]) => (bytes > a.bytes ? { name, bytes } : a), { name: '', bytes: 0 });
  return { weightBytes, adapterBytes, activationBytes, totalBytes: weightBytes + adapterBytes + activationBytes, largest };
}

/** Throws with a suggestion when the step cannot fit; returns the estimate otherwise. */
export function checkStepFits(
  spec: ModelSpec, weightBytes: number, cfg: AdapterConfig, B: number, T: number, limits: { maxStorageBufferBindingSize: number; maxBufferSize: number }, budgetBytes: number | null,
): MemoryEstimate {
  const est = estimateStep(spec, weightBytes, cfg, B, T);
  const cap = Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize);
  const fitsB = (pred: (b: number) => boolean) => {
    let b = B;
    while (b > 1 && !pred(b)) b = Math.floor(b / 2);
    return b;
  };
  if (est.largest.bytes > cap) {
    const b = fitsB((x) => estimateStep(spec, weightBytes, cfg, x, T).largest.bytes <= cap);
    throw new Error(
      `This run needs a ${(est.largest.bytes / MiB).toFixed(0)} MiB buffer (${est.largest.name}, for batch ${B} x ${T} tokens) but this GPU binds at most ${(cap / MiB).toFixed(0)} MiB per buffer: ` +
        `use a batch of ${b}${b === 1 ? ' and shorter sequences (maxLength)' : ''} with gradient accumulation for the same effective batch`,
    );
  }
  if (budgetBytes !== null && est.totalBytes > budgetBytes) {
    const b = fitsB((x) => estimateStep(spec, weightBytes, cfg, x, T).totalBytes <= budgetBytes);
    const fits = estimateStep(spec, weightBytes, cfg, b, T).totalBytes <= budgetBytes;
    throw new Error(
      `This run needs about ${(est.totalBytes / MiB).toFixed(0)} MiB of GPU memory (weights ${(est.weightBytes / MiB).toFixed(0)}, activations ${(est.activationBytes / MiB).toFixed(0)}, ` +
        `adapters and AdamW ${(est.adapterBytes / MiB).toFixed(0)}), over the budget of ${(budgetBytes / MiB).toFixed(0)} MiB: ` +
        (fits ? `use a batch of ${b} with accumulate ${Math.ceil(B / b)} for the same effective batch` : 'use shorter sequences (maxLength), fewer target modules, or a smaller model'),
    );
  }
  return est;
}
