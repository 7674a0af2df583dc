// Merged export: a LoRA folded into the base weights, W + (alpha / r)·B·A, written as a complete
// Hugging Face model folder (config.json, the tokenizer files as given, model.safetensors with
// the original tensor names and dtypes). Other methods cannot be merged: their routing weights
// depend on each token, so no single weight matrix reproduces them.
import { readTensorBytes, writeSafetensors, type TensorToWrite } from '../model/safetensors.ts';
import { fromFloat32, toFloat32 } from '../model/dtype.ts';
import type { StoredTensor } from '../model/load.ts';
import { AdapterExportError, adaptedModules, type AdapterExport, type ExportFile } from './format.ts';

/** Adds scale·B·A (B: out x r, A: r x in) to W stored (out, in), or (in, out) for GPT-2's Conv1D. */
export function addLoraDelta(w: Float32Array, lin: { in: number; out: number; outIn: boolean }, A: ArrayLike<number>, B: ArrayLike<number>, r: number, scale: number): void {
  for (let o = 0; o < lin.out; o++)
    for (let i = 0; i < lin.in; i++) {
      let v = 0;
      for (let k = 0; k < r; k++) v += B[o * r + k] * A[k * lin.in + i];
      const at = lin.outIn ? o * lin.in + i : i * lin.out + o;
      w[at] += scale * v;
    }
}

/**
 * The merged model folder. `model`: the opened base model (OpenedModel's tensors: canonical name
 * → stored name, dtype, bytes); `files`: what else the folder gets as is (tokenizer.json,
 * tokenizer_config.json, generation_config.json, …; weight files and config.json among them are
 * replaced). Tensors the LoRA does not touch are copied byte for byte.
 */
export async function exportMerged(a: AdapterExport, model: { tensors: Map<string, StoredTensor> }, files: ExportFile[] = []): Promise<ExportFile[]> {
  if (a.cfg.method !== 'lora') {
    throw new AdapterExportError(
      `merged export: a ${a.cfg.method} adapter cannot be merged into the weights (its routing weights depend on each token); ` +
        'export the adapter itself, or one static LoRA per intuition cluster (per-cluster export)',
    );
  }
  if (!a.base.config) throw new AdapterExportError("merged export: the base model's config.json bytes are needed (base.config)");
  const r = a.cfg.r!;
  const scale = (a.cfg.alpha ?? r) / r;
  const merged = new Map(adaptedModules(a).map((m) => [m.lin.w, m]));
  const tensors: Record<string, TensorToWrite> = {};
  for (const [canonical, t] of model.tensors) {
    const bytes = await readTensorBytes(t.file, t.info.name);
    const m = merged.get(canonical);
    let data = bytes;
    if (m) {
      const w = toFloat32(bytes, t.info.dtype);
      const p = a.params.get(m.key)!;
      addLoraDelta(w, m.lin, p.A, p.B, r, scale);
      data = fromFloat32(w, t.info.dtype);
    }
    tensors[t.info.name] = { dtype: t.info.dtype, shape: t.info.shape, data };
  }
  const missing = [...merged.keys()].filter((k) => !model.tensors.has(k));
  if (missing.length) throw new AdapterExportError(`merged export: the base model has no tensor ${missing.join(', ')}`);
  const passed = files.filter((f) => f.name !== 'config.json' && !/\.safetensors(\.index\.json)?$/.test(f.name));
  return [{ name: 'config.json', bytes: a.base.config }, ...passed, { name: 'model.safetensors', bytes: writeSafetensors(tensors) }];
}
