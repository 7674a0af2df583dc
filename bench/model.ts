// Model benchmarks, shared by the browser page and the Node runner: safetensors parse + upload
// throughput for a 100 MB file, and forward / decode tokens per second of a model.
import type { Engine } from '../src/gpu/engine.ts';
import { readSafetensorsHeader, readTensorBytes, writeSafetensors, type TensorToWrite } from '../src/model/safetensors.ts';
import { toFloat32, type DType } from '../src/model/dtype.ts';
import { openModel } from '../src/model/load.ts';
import { GpuModel } from '../src/model/gpuModel.ts';
import type { ModelFiles } from '../src/model/sources.ts';
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
