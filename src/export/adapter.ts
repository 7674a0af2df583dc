// Writing an adapter: LoRA in PEFT's layout (adapter_model.safetensors + adapter_config.json),
// T-REX / MoR1E / MoLoRA / SiRA in this project's format (adapter_model.safetensors +
// mor1e_config.json + intuition.safetensors). README "Adapter formats" documents both.
import { writeSafetensors, type TensorToWrite } from '../model/safetensors.ts';
import { GATE_SLOPE, MOLORA_EXPERTS, SIRA_KEEP, TASK_COEF, TOKEN_COEF, type AdapterDims } from '../adapters/spec.ts';
import type { ModelSpec } from '../model/config.ts';
import type { AdapterConfig } from '../train/config.ts';
import {
  ADAPTER_MODEL_FILE, AdapterExportError, INTUITION_FILE, MOR1E_CONFIG_FILE, MOR1E_FORMAT, MOR1E_VERSION, PEFT_CONFIG_FILE,
  adaptedModules, f32Tensor, jsonFile, sha256Hex, targetModuleNames, tensorKey,
  type AdapterExport, type ExportFile, type IntuitionRecord,
} from './format.ts';

/** LoRA → PEFT's layout; every other method → the mor1e format. */
export async function exportAdapter(a: AdapterExport): Promise<ExportFile[]> {
  return a.cfg.method === 'lora' ? exportPeftLora(a) : exportMor1e(a);
}

/** adapter_model.safetensors with every adapted module's tensors under `base_model.model.<path>.<name>.weight`. */
export function adapterTensorsFile(a: AdapterExport): ExportFile {
  const tensors: Record<string, TensorToWrite> = {};
  for (const m of adaptedModules(a)) {
    const p = a.params.get(m.key)!;
    for (const t of m.tensors) tensors[tensorKey(m.path, t.name)] = f32Tensor(p[t.field]!, t.shape);
  }
  return { name: ADAPTER_MODEL_FILE, bytes: writeSafetensors(tensors) };
}

/** PEFT's adapter_config.json of a LoRA of rank r (only keys every PEFT version since 0.4 knows). */
export function peftConfig(spec: ModelSpec, cfg: AdapterConfig, baseName: string | null, r: number, alpha: number) {
  return {
    peft_type: 'LORA',
    task_type: 'CAUSAL_LM',
    base_model_name_or_path: baseName,
    inference_mode: true,
    r,
    lora_alpha: alpha,
    lora_dropout: 0,
    target_modules: targetModuleNames(spec, cfg),
    // GPT-2's Conv1D stores W as (in, out): PEFT transposes the delta when merging.
    fan_in_fan_out: spec.arch === 'gpt2',
    bias: 'none',
    modules_to_save: null,
    init_lora_weights: true,
  };
}

/** A LoRA adapter in PEFT's layout: lora_A [r, in], lora_B [out, r], scaling lora_alpha / r. */
export function exportPeftLora(a: AdapterExport): ExportFile[] {
  if (a.cfg.method !== 'lora') {
    throw new AdapterExportError(`export: PEFT's LoRA layout holds plain LoRA only; a ${a.cfg.method} adapter routes per token and is written in the mor1e format (or per cluster as static LoRAs)`);
  }
  const r = a.cfg.r!;
  return [adapterTensorsFile(a), jsonFile(PEFT_CONFIG_FILE, peftConfig(a.spec, a.cfg, a.base.name, r, a.cfg.alpha ?? r))];
}

/** The intuition an adapter of these dims records: the given one (checked) or source 'none'. */
export function intuitionRecord(a: AdapterExport, d: AdapterDims): IntuitionRecord {
  const none: IntuitionRecord = { source: 'none', k: d.gated ? d.k : null, dim: null, layer: null, encoder: null };
  const it = a.intuition;
  if (!d.gated || !it || it.source === 'none') return none;
  if (it.k !== d.k) throw new AdapterExportError(`export: the intuition has k = ${it.k} clusters but the adapter reads ${d.k} scores (${d.mapper ? 'its mapper is E x k' : 'E'}); set the adapter config's k to the cluster count`);
  const dim = it.dim ?? 0;
  if (!Number.isInteger(dim) || dim < 1 || it.centroids?.length !== d.k * dim) {
    throw new AdapterExportError(`export: intuition centroids must be k x dim = ${d.k} x ${it.dim} values, got ${it.centroids?.length ?? 'none'}`);
  }
  if (it.mean && it.mean.length !== dim) throw new AdapterExportError(`export: the intuition's mean embedding must have dim = ${dim} values, got ${it.mean.length}`);
  return { source: it.source, k: d.k, dim, layer: it.layer ?? null, encoder: it.encoder ?? null, centroids: it.centroids, mean: it.mean ?? null };
}

/** mor1e_config.json's object (the keys in order, then the ablation and regulariser settings). */
export function mor1eConfig(a: AdapterExport, d: AdapterDims, intuition: IntuitionRecord, sha: string | null) {
  const { cfg } = a;
  const sizes = (() => {
    switch (cfg.method) {
      case 'trex':
        return { r1: d.rA, r2: d.rB, E: d.E, r: null, topk: cfg.topk ?? null };
      case 'mor1e':
        return { r1: d.E, r2: d.E, E: d.E, r: null, topk: cfg.topk ?? null };
      default:
        return { r1: null, r2: null, E: MOLORA_EXPERTS, r: d.rA, topk: cfg.method === 'sira' ? SIRA_KEEP : null };
    }
  })();
  return {
    format: MOR1E_FORMAT,
    version: MOR1E_VERSION,
    method: cfg.method,
    ...sizes,
    token_coefficient: TOKEN_COEF,
    task_coefficient: TASK_COEF,
    gate_slope: GATE_SLOPE,
    target_modules: targetModuleNames(a.spec, cfg),
    base_model_name_or_path: a.base.name,
    base_config_sha256: sha,
    intuition: { source: intuition.source, k: intuition.k, dim: intuition.dim, layer: intuition.layer, encoder: intuition.encoder, center: !!intuition.mean },
    use_router: cfg.useRouter ?? true,
    use_intuition: cfg.useIntuition ?? true,
    lambda_entropy: cfg.lambdaH ?? 0,
    lambda_load_balance: cfg.lambdaLB ?? 0,
  };
}

/** intuition.safetensors: the centroids (k x dim) and, when the embeddings were centred, their mean (dim), F32. */
export function intuitionFile(it: IntuitionRecord): ExportFile {
  const tensors = { centroids: f32Tensor(it.centroids!, [it.k!, it.dim!]), ...(it.mean ? { mean: f32Tensor(it.mean, [it.dim!]) } : {}) };
  return { name: INTUITION_FILE, bytes: writeSafetensors(tensors) };
}

/** A T-REX / MoR1E / MoLoRA / SiRA adapter in the mor1e format. */
export async function exportMor1e(a: AdapterExport): Promise<ExportFile[]> {
  if (a.cfg.method === 'lora') throw new AdapterExportError("export: a LoRA adapter is written in PEFT's layout (exportPeftLora)");
  const modules = adaptedModules(a);
  const d = modules[0].dims;
  const intuition = intuitionRecord(a, d);
  const sha = a.base.config ? await sha256Hex(a.base.config) : null;
  const files = [adapterTensorsFile(a), jsonFile(MOR1E_CONFIG_FILE, mor1eConfig(a, d, intuition, sha))];
  if (intuition.source !== 'none') files.push(intuitionFile(intuition));
  return files;
}
