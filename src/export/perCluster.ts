// Per-cluster static export: freeze each layer's routing weights g at their mean over one
// intuition cluster's training tokens, and the routed adapter becomes an ordinary LoRA that any
// LoRA server loads (PEFT, vLLM multi-LoRA, llama.cpp). METHOD.md's expert mixes, with g fixed:
//   T-REX  delta = beta·B (Gᵀ (A x)),  G[i][j] = g[i·r2 + j]  →  lora_A = Gᵀ A (r2 x n), lora_B = beta·B
//   MoR1E  delta = beta·B (g ⊙ A x)                           →  lora_A = diag(g) A (E x n), lora_B = beta·B
//   MoLoRA / SiRA  delta = B (q_(k mod 8) ⊙ A x)               →  lora_A = diag(q_(k mod 8)) A, lora_B = B
// with lora_alpha = r, so PEFT's scaling alpha / r is 1. A token whose routing weights equal g
// gets exactly the adapter's delta.
import { writeSafetensors, type TensorToWrite } from '../model/safetensors.ts';
import { GATE_SLOPE, MOLORA_EXPERTS, adapterDims, type AdapterSpec } from '../adapters/spec.ts';
import type { AdapterParams, ParamArray } from '../adapters/params.ts';
import { intuitionFile, intuitionRecord, peftConfig } from './adapter.ts';
import {
  ADAPTER_MODEL_FILE, AdapterExportError, PEFT_CONFIG_FILE, adaptedModules, f32Tensor, jsonFile, sha256Hex, tensorKey,
  type AdapterExport, type ExportFile,
} from './format.ts';

/** The LoRA (rank r, scaling 1) equal to one adapted layer with its routing weights frozen at g (E values). */
export function staticLoRA(spec: AdapterSpec, p: AdapterParams<ParamArray>, g: ArrayLike<number>): { A: Float64Array; B: Float64Array; r: number } {
  const d = adapterDims(spec);
  const { n, m } = spec;
  if (d.E === 0) throw new AdapterExportError('per-cluster export: a LoRA has no routing to freeze; export it as it is');
  if (g.length !== d.E) throw new AdapterExportError(`per-cluster export: ${g.length} routing weights given, the ${spec.method} layer has ${d.E} experts`);
  const r = spec.method === 'trex' ? d.rB : d.rA;
  const A = new Float64Array(r * n);
  for (let i = 0; i < d.rA; i++) {
    const row = p.A.subarray(i * n, (i + 1) * n);
    if (spec.method === 'trex') {
      // (Gᵀ A)_j = Σ_i G[i][j] A_i
      for (let j = 0; j < d.rB; j++) {
        const gij = g[i * d.rB + j];
        for (let c = 0; c < n; c++) A[j * n + c] += gij * row[c];
      }
    } else {
      const gi = g[spec.method === 'mor1e' ? i : i % MOLORA_EXPERTS];
      for (let c = 0; c < n; c++) A[i * n + c] = gi * row[c];
    }
  }
  const beta = d.gated ? 1 / (1 + Math.exp(-GATE_SLOPE * p.wBeta![0])) : 1;
  const B = Float64Array.from(p.B.subarray(0, m * d.rB), (v) => beta * v);
  return { A, B, r };
}

export interface PerClusterOptions {
  /**
   * Per adapted layer (adaptedLayers' key): the mean routing weights g over each cluster's
   * training tokens, (clusters x E) row-major: E = r1·r2 (T-REX), E (MoR1E), 8 (MoLoRA / SiRA,
   * the mixing weights q after SiRA's top-6).
   */
  meanRouting: Map<string, Float32Array | Float64Array>;
  /** Training tokens per cluster (recorded in clusters.json). */
  tokens?: number[];
}

/**
 * One PEFT LoRA folder per cluster (`cluster-00/adapter_model.safetensors`, `adapter_config.json`,
 * …), plus `clusters.json` (the method, the base model, the intuition settings and the folders,
 * so a server can score a prompt s = C e and pick the folder of its largest score) and the
 * centroids in `intuition.safetensors` when the intuition has them.
 */
export async function exportPerCluster(a: AdapterExport, opts: PerClusterOptions): Promise<ExportFile[]> {
  const modules = adaptedModules(a);
  const d = modules[0].dims;
  if (d.E === 0) throw new AdapterExportError('per-cluster export: a LoRA has no routing to freeze; export it as it is');
  const rows = opts.meanRouting.get(modules[0].key)?.length ?? 0;
  const clusters = rows / d.E;
  if (!Number.isInteger(clusters) || clusters < 1) throw new AdapterExportError(`per-cluster export: ${modules[0].key} has ${rows} mean routing weights, not a whole number of ${d.E}-expert rows`);
  const intuition = intuitionRecord(a, d);
  if (intuition.source !== 'none' && intuition.k !== clusters) {
    throw new AdapterExportError(`per-cluster export: ${clusters} clusters of routing weights, the intuition has k = ${intuition.k}`);
  }
  if (opts.tokens && opts.tokens.length !== clusters) throw new AdapterExportError(`per-cluster export: ${opts.tokens.length} token counts for ${clusters} clusters`);
  const width = Math.max(2, String(clusters - 1).length);
  const folders = Array.from({ length: clusters }, (_, c) => `cluster-${String(c).padStart(width, '0')}`);
  const files: ExportFile[] = [];
  const r = a.cfg.method === 'trex' ? d.rB : d.rA;
  for (let c = 0; c < clusters; c++) {
    const tensors: Record<string, TensorToWrite> = {};
    for (const m of modules) {
      const g = opts.meanRouting.get(m.key);
      if (!g || g.length !== rows) throw new AdapterExportError(`per-cluster export: ${m.key} (${m.path}) needs ${rows} mean routing weights, got ${g?.length ?? 'none'}`);
      const s = staticLoRA({ ...a.cfg, T: 1, n: m.lin.in, m: m.lin.out }, a.params.get(m.key)!, g.subarray(c * d.E, (c + 1) * d.E));
      tensors[tensorKey(m.path, 'lora_A')] = f32Tensor(s.A, [r, m.lin.in]);
      tensors[tensorKey(m.path, 'lora_B')] = f32Tensor(s.B, [m.lin.out, r]);
    }
    files.push({ name: `${folders[c]}/${ADAPTER_MODEL_FILE}`, bytes: writeSafetensors(tensors) });
    files.push(jsonFile(`${folders[c]}/${PEFT_CONFIG_FILE}`, peftConfig(a.spec, a.cfg, a.base.name, r, r)));
  }
  const { centroids: _c, mean, ...rest } = intuition;
  const settings = { ...rest, center: !!mean };
  files.push(jsonFile('clusters.json', {
    format: 'mor1e-per-cluster',
    version: 1,
    method: a.cfg.method,
    base_model_name_or_path: a.base.name,
    base_config_sha256: a.base.config ? await sha256Hex(a.base.config) : null,
    intuition: settings,
    clusters: folders.map((folder, c) => ({ folder, cluster: c, ...(opts.tokens ? { tokens: opts.tokens[c] } : {}) })),
  }));
  if (intuition.source !== 'none') files.push(intuitionFile(intuition));
  return files;
}
