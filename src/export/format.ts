// What both adapter formats share: the exported file type, the base-model and intuition records,
// the Hugging Face module path of each adapted Linear (PEFT's `base_model.model.<path>` keys),
// the tensors one adapted module stores (names, AdapterParams fields, shapes), PEFT's
// target_modules matching rule, and small encoders (f32 tensors, JSON, SHA-256).
import type { ModelSpec } from '../model/config.ts';
import type { Linear } from '../model/layout.ts';
import { fromFloat32 } from '../model/dtype.ts';
import type { TensorToWrite } from '../model/safetensors.ts';
import { adapterDims, type AdapterDims } from '../adapters/spec.ts';
import type { AdapterParams, ParamArray } from '../adapters/params.ts';
import { adaptedLayers, layerSpec, type AdapterConfig, type ModuleKind } from '../train/config.ts';

/** One file of an export (or of an adapter to import): its path inside the export folder and its bytes. */
export interface ExportFile {
  name: string;
  bytes: Uint8Array;
}

export const ADAPTER_MODEL_FILE = 'adapter_model.safetensors';
export const PEFT_CONFIG_FILE = 'adapter_config.json';
export const MOR1E_CONFIG_FILE = 'mor1e_config.json';
export const INTUITION_FILE = 'intuition.safetensors';
/** Every file an adapter folder may hold (what to fetch under a URL prefix; absent ones are fine). */
export const ADAPTER_FILES = [MOR1E_CONFIG_FILE, PEFT_CONFIG_FILE, ADAPTER_MODEL_FILE, INTUITION_FILE] as const;
export const MOR1E_FORMAT = 'mor1e-adapter';
export const MOR1E_VERSION = 1;

export class AdapterExportError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AdapterExportError';
  }
}

export class AdapterImportError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AdapterImportError';
  }
}

/** The base model an adapter belongs to. */
export interface BaseModelRef {
  /** Hub id or URL (`base_model_name_or_path`); null when unknown, e.g. a local folder. */
  name: string | null;
  /** The base model's config.json bytes exactly as loaded: hashed into `base_config_sha256` (null: no hash). */
  config: Uint8Array | null;
}

export type IntuitionRecordSource = 'model' | 'encoder' | 'supplied' | 'none';

/**
 * The intuition settings an adapter carries (mor1e_config.json's `intuition`), and the centroids
 * (k x dim, intuition.safetensors) unless the source is 'none'. src/intuition's IntuitionModel
 * fits as is.
 */
export interface IntuitionRecord {
  source: IntuitionRecordSource;
  /** Clusters: the width of the scores s (E, or the mapper's k). */
  k: number | null;
  dim: number | null;
  /** Base-model block the prompt embeddings come from (source 'model'). */
  layer: number | null;
  /** Sentence encoder id or URL (source 'encoder'). */
  encoder: string | null;
  centroids?: Float32Array | null;
  /** The training embeddings' mean (dim), subtracted from a prompt's embedding (then renormalised) before s = C e; null / absent: not centred. */
  mean?: Float32Array | null;
}

/** What every export reads: the base model, the adapter config and its trained parameters. */
export interface AdapterExport {
  spec: ModelSpec;
  cfg: AdapterConfig;
  /** Per adapted layer, by adaptedLayers' key (`${layer}.${kind}`), as unstackParams returns them. */
  params: Map<string, AdapterParams<ParamArray>>;
  base: BaseModelRef;
  /** The clustering behind the intuition scores (gated methods); null / absent: source 'none'. */
  intuition?: IntuitionRecord | null;
}

/** The module path in the Hugging Face model (GPT2LMHeadModel nests GPT-2's blocks under `transformer.`). */
export function hfModulePath(spec: ModelSpec, lin: Linear): string {
  return (spec.arch === 'gpt2' ? 'transformer.' : '') + lin.w.replace(/\.weight$/, '');
}

/** A stored tensor's key: `base_model.model.<module path>.<name>.weight`. */
export function tensorKey(modulePath: string, name: string): string {
  return `base_model.model.${modulePath}.${name}.weight`;
}

/** Every linear layer of every block (targets absent; the method plays no part in the selection). */
export function allLinears(spec: ModelSpec) {
  return adaptedLayers(spec, { method: 'lora' }).map((a) => ({ ...a, path: hfModulePath(spec, a.lin) }));
}

/** The tensors one adapted module stores, in file order: name (before `.weight`), AdapterParams field, shape. */
export function moduleTensors(d: AdapterDims, lin: Linear): Array<{ name: string; field: keyof AdapterParams; shape: number[] }> {
  const t: Array<{ name: string; field: keyof AdapterParams; shape: number[] }> = [
    { name: 'lora_A', field: 'A', shape: [d.rA, lin.in] },
    { name: 'lora_B', field: 'B', shape: [lin.out, d.rB] },
  ];
  if (d.E > 0) t.push({ name: 'router', field: 'Wr', shape: [d.E, lin.in] });
  if (d.gated) t.push({ name: 'omg', field: 'wOmega', shape: [1, 1] }, { name: 'binary_main_gate_weight', field: 'wBeta', shape: [1, 1] });
  if (d.mapper) t.push({ name: 'rank1_flex_mapper', field: 'M', shape: [d.E, d.k] });
  return t;
}

export const numel = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** The adapted layers with their module path, dims and stored tensors; checks that `params` has every one at its size. */
export function adaptedModules(a: Pick<AdapterExport, 'spec' | 'cfg'> & { params?: AdapterExport['params'] }) {
  const out = adaptedLayers(a.spec, a.cfg).map((l) => {
    const dims = adapterDims(layerSpec(a.cfg, l.lin, 1));
    return { ...l, path: hfModulePath(a.spec, l.lin), dims, tensors: moduleTensors(dims, l.lin) };
  });
  if (!a.params) return out;
  for (const m of out) {
    const p = a.params.get(m.key);
    if (!p) throw new AdapterExportError(`export: no parameters for adapted layer ${m.key} (${m.path})`);
    for (const t of m.tensors) {
      const got = p[t.field]?.length ?? 0;
      if (got !== numel(t.shape)) throw new AdapterExportError(`export: ${m.key} (${m.path}) ${t.field} holds ${got} values, [${t.shape.join(', ')}] expected`);
    }
  }
  const extra = [...a.params.keys()].filter((k) => !out.some((m) => m.key === k));
  if (extra.length) throw new AdapterExportError(`export: parameters for ${extra.join(', ')}, which the adapter config does not adapt`);
  return out;
}

/**
 * PEFT's target_modules rule: a list entry matches a module whose path equals it or ends with
 * `.<entry>`; a string is a regular expression the whole path must match; "all-linear" is
 * every linear layer but the LM head. Returns the matched layers' keys.
 */
export function matchTargets(spec: ModelSpec, targets: string | string[]): Set<string> {
  const match = (path: string) => {
    if (typeof targets === 'string') return targets === 'all-linear' || new RegExp(`^(?:${targets})$`).test(path);
    return targets.some((t) => path === t || path.endsWith(`.${t}`));
  };
  return new Set(allLinears(spec).filter((m) => match(m.path)).map((m) => m.key));
}

/**
 * target_modules naming exactly the kinds `cfg` adapts: each kind's shortest path suffix that matches no other
 * kind (e.g. GPT-2's "c_attn", and "attn.c_proj" when the MLP's c_proj is not adapted too).
 */
export function targetModuleNames(spec: ModelSpec, cfg: AdapterConfig): string[] {
  const kinds: ModuleKind[] = [...new Set(adaptedLayers(spec, cfg).map((a) => a.kind))];
  const block0 = allLinears(spec).filter((m) => m.l === 0);
  const names = new Set<string>();
  for (const kind of kinds) {
    const m = block0.find((b) => b.kind === kind);
    if (!m) continue;
    const segs = m.path.split('.');
    for (let n = 1; n <= segs.length; n++) {
      const suffix = segs.slice(-n).join('.');
      if (block0.every((b) => kinds.includes(b.kind) || !(b.path === suffix || b.path.endsWith(`.${suffix}`)))) {
        names.add(suffix);
        break;
      }
    }
  }
  return [...names];
}

/** An F32 tensor for writeSafetensors. */
export function f32Tensor(values: ParamArray | Float32Array, shape: number[]): TensorToWrite {
  return { dtype: 'F32', shape, data: fromFloat32(values instanceof Float32Array ? values : Float32Array.from(values), 'F32') };
}

export function jsonFile(name: string, value: unknown): ExportFile {
  return { name, bytes: new TextEncoder().encode(JSON.stringify(value, null, 2) + '\n') };
}

/** Lower-case hex SHA-256 of the bytes (WebCrypto: browsers, workers, Node ≥ 20). */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new Uint8Array(bytes)));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}
