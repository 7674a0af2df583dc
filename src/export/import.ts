// Reading an adapter back: PEFT's LoRA layout or the mor1e format, from a list of files, checked
// against the loaded model (module names, shapes, the base config.json's hash when the adapter
// records one) and against its own config. Every refusal names the file and the tensor or key.
import { unzipSync } from 'fflate';
import type { ModelSpec } from '../model/config.ts';
import { readSafetensorsHeader, readTensorBytes, type SafetensorsFile } from '../model/safetensors.ts';
import { toFloat32 } from '../model/dtype.ts';
import { GATE_SLOPE, MOLORA_EXPERTS, SIRA_KEEP, TASK_COEF, TOKEN_COEF, adapterDims } from '../adapters/spec.ts';
import type { AdapterParams } from '../adapters/params.ts';
import { MODULE_KINDS, layerSpec, type AdapterConfig, type ModuleKind } from '../train/config.ts';
import {
  ADAPTER_MODEL_FILE, AdapterImportError, INTUITION_FILE, MOR1E_CONFIG_FILE, MOR1E_FORMAT, MOR1E_VERSION, PEFT_CONFIG_FILE,
  adaptedModules, allLinears, matchTargets, sha256Hex, tensorKey,
  type ExportFile, type IntuitionRecord,
} from './format.ts';

export interface ImportedAdapter {
  format: 'peft' | 'mor1e';
  config: AdapterConfig;
  /** Per adapted layer (adaptedLayers' key), float32. */
  params: Map<string, AdapterParams<Float32Array>>;
  /** Gated methods (trex, mor1e): the intuition settings, with the centroids unless the source is 'none'; else null. */
  intuition: IntuitionRecord | null;
  /** base_model_name_or_path as recorded. */
  baseModel: string | null;
  /** What could not be checked (e.g. no base config.json to hash), or differs harmlessly. */
  warnings: string[];
}

/** The loaded model an adapter must fit. */
export interface ImportTarget {
  spec: ModelSpec;
  /** Its config.json bytes as loaded (checked against base_config_sha256); null: not checked. */
  config: Uint8Array | null;
  /** Its hub id or URL, when known (a different base_model_name_or_path is a warning). */
  name?: string | null;
}

type Json = Record<string, unknown>;

const fail = (msg: string): never => {
  throw new AdapterImportError(`import: ${msg}`);
};

/** A file by name, or by its last path segment when the list holds one folder (`my-adapter/adapter_config.json`). */
function pick(files: ExportFile[], name: string): ExportFile | null {
  const exact = files.find((f) => f.name === name);
  if (exact) return exact;
  const inFolder = files.filter((f) => f.name.replace(/\\/g, '/').endsWith(`/${name}`));
  if (inFolder.length > 1) fail(`${inFolder.length} files named ${name} (${inFolder.map((f) => f.name).join(', ')}): give one adapter folder (a per-cluster export holds one LoRA per cluster folder)`);
  return inFolder[0] ?? null;
}

function readJson(f: ExportFile): Json {
  let v: unknown;
  try {
    v = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(f.bytes));
  } catch (e) {
    fail(`${f.name} is not valid JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(`${f.name} is not a JSON object`);
  return v as Json;
}

const isInt = (v: unknown, min = 1): v is number => Number.isSafeInteger(v) && (v as number) >= min;

const ZIP_MAGIC = [0x50, 0x4b, 0x03, 0x04];
/** The files an adapter of either format consists of. */
const ADAPTER_FILES = new Set([MOR1E_CONFIG_FILE, PEFT_CONFIG_FILE, ADAPTER_MODEL_FILE, INTUITION_FILE]);

/**
 * The files with every .zip among them (what the studio's export downloads) replaced by its
 * entries, named `<zip>/<entry>` so refusals say where a file came from; folders are dropped.
 */
export function expandZips(files: ExportFile[]): ExportFile[] {
  return files.flatMap((f) => {
    const zipped = /\.zip$/i.test(f.name) || ZIP_MAGIC.every((b, i) => f.bytes[i] === b);
    if (!zipped) return [f];
    // Only an adapter's own files are inflated (a merged model's zip is refused without unpacking
    // its weights); the others are listed by name, empty, so a refusal can say what the zip held.
    const others: string[] = [];
    let entries: Record<string, Uint8Array>;
    try {
      entries = unzipSync(f.bytes, {
        filter: (e) => {
          const keep = !e.name.endsWith('/') && ADAPTER_FILES.has(e.name.split('/').pop()!);
          if (!keep && !e.name.endsWith('/')) others.push(e.name);
          return keep;
        },
      });
    } catch (e) {
      return fail(`${f.name} is not a readable zip archive (${e instanceof Error ? e.message : String(e)})`);
    }
    const inside = [...Object.entries(entries), ...others.map((name) => [name, new Uint8Array(0)] as const)];
    if (!inside.length) fail(`${f.name} is an empty zip archive`);
    return inside.map(([name, bytes]) => ({ name: `${f.name}/${name}`, bytes }));
  });
}

/** Reads, checks and returns an adapter of either format (files, or the .zip an export downloads). */
export async function importAdapter(given: ExportFile[], model: ImportTarget): Promise<ImportedAdapter> {
  const files = expandZips(given);
  const mor1e = pick(files, MOR1E_CONFIG_FILE);
  const peft = mor1e ? null : pick(files, PEFT_CONFIG_FILE);
  if (!mor1e && !peft) fail(`neither ${MOR1E_CONFIG_FILE} nor ${PEFT_CONFIG_FILE} among the files (${files.map((f) => f.name).join(', ') || 'none'})`);
  const warnings: string[] = [];
  const configFile = (mor1e ?? peft)!;
  const parsed = mor1e ? await parseMor1eConfig(mor1e, model, warnings) : parsePeftConfig(configFile);
  const config: AdapterConfig = { ...parsed.config, targets: targetKinds(model.spec, parsed.targetModules, configFile.name) };
  try {
    adapterDims(layerSpec(config, allLinears(model.spec)[0].lin, 1));
  } catch (e) {
    fail(`${configFile.name}: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (model.name && parsed.baseModel && model.name !== parsed.baseModel) warnings.push(`the adapter was made for ${parsed.baseModel}, the loaded model is ${model.name}`);

  const weights = pick(files, ADAPTER_MODEL_FILE);
  if (!weights) fail(`${ADAPTER_MODEL_FILE} is missing`);
  const file = await header(weights!);
  const params = await readParams(file, model.spec, config);
  const intuition = parsed.intuition ? await readIntuition(files, parsed.intuition, parsed.center === true) : null;
  return { format: mor1e ? 'mor1e' : 'peft', config, params, intuition, baseModel: parsed.baseModel, warnings };
}

async function header(f: ExportFile): Promise<SafetensorsFile> {
  try {
    const file = await readSafetensorsHeader(new Blob([new Uint8Array(f.bytes)]), f.name);
    const other = [...file.others.values()][0];
    if (other) fail(`${f.name}: tensor "${other.name}" is stored as ${other.dtype}; adapter tensors must be F32, F16 or BF16`);
    return file;
  } catch (e) {
    if (e instanceof AdapterImportError) throw e;
    return fail(e instanceof Error ? e.message : String(e));
  }
}

/** Adapted module kinds from target_modules, which must select whole kinds (every block). */
function targetKinds(spec: ModelSpec, targets: unknown, where: string): ModuleKind[] {
  const ok = typeof targets === 'string' || (Array.isArray(targets) && targets.length > 0 && targets.every((t) => typeof t === 'string'));
  if (!ok) fail(`${where}: "target_modules" must be a non-empty list of module names (or a pattern), got ${JSON.stringify(targets)}`);
  let matched: Set<string>;
  try {
    matched = matchTargets(spec, targets as string | string[]);
  } catch (e) {
    return fail(`${where}: "target_modules" ${JSON.stringify(targets)} is not a valid pattern (${e instanceof Error ? e.message : String(e)})`);
  }
  const all = allLinears(spec);
  const kinds = MODULE_KINDS.filter((k) => all.some((m) => m.kind === k && matched.has(m.key)));
  if (!kinds.length) fail(`${where}: "target_modules" ${JSON.stringify(targets)} match no linear layer of this ${spec.modelType} model (an adapter for another architecture?)`);
  const partial = all.find((m) => kinds.includes(m.kind) && !matched.has(m.key));
  if (partial) fail(`${where}: "target_modules" ${JSON.stringify(targets)} leave out ${partial.path}; only adapters of every block's layers of a kind are supported`);
  return kinds;
}

interface Parsed {
  config: AdapterConfig;
  /** target_modules as written (PEFT's names or pattern). */
  targetModules: unknown;
  baseModel: string | null;
  intuition: IntuitionRecord | null;
  /** mor1e: intuition.center (the embeddings were centred; intuition.safetensors then holds their mean). */
  center?: boolean;
}

function parsePeftConfig(f: ExportFile): Parsed {
  const c = readJson(f);
  const where = f.name;
  if (c.peft_type !== 'LORA') fail(`${where}: "peft_type" is ${JSON.stringify(c.peft_type)}; only LORA adapters load here`);
  if (c.task_type != null && c.task_type !== 'CAUSAL_LM') fail(`${where}: "task_type" ${JSON.stringify(c.task_type)} is not CAUSAL_LM`);
  // PEFT's defaults: r = 8, lora_alpha = 8.
  const r = c.r ?? 8, alpha = c.lora_alpha ?? 8;
  if (!isInt(r)) fail(`${where}: "r" must be a positive integer, got ${JSON.stringify(c.r)}`);
  if (typeof alpha !== 'number' || !(alpha > 0)) fail(`${where}: "lora_alpha" must be a positive number, got ${JSON.stringify(c.lora_alpha)}`);
  const unsupported: Array<[string, boolean]> = [
    ['use_rslora', c.use_rslora === true],
    ['use_dora', c.use_dora === true],
    ['bias', c.bias != null && c.bias !== 'none'],
    ['modules_to_save', Array.isArray(c.modules_to_save) && c.modules_to_save.length > 0],
    ['rank_pattern', !!c.rank_pattern && Object.keys(c.rank_pattern).length > 0],
    ['alpha_pattern', !!c.alpha_pattern && Object.keys(c.alpha_pattern).length > 0],
    ['layers_to_transform', c.layers_to_transform != null],
  ];
  for (const [key, bad] of unsupported) if (bad) fail(`${where}: "${key}" = ${JSON.stringify(c[key])} is not supported (plain LoRA of whole layer kinds, no bias or extra modules)`);
  const baseModel = typeof c.base_model_name_or_path === 'string' ? c.base_model_name_or_path : null;
  return { config: { method: 'lora', r: r as number, alpha: alpha as number }, targetModules: c.target_modules, baseModel, intuition: null };
}

async function parseMor1eConfig(f: ExportFile, model: ImportTarget, warnings: string[]): Promise<Parsed> {
  const c = readJson(f);
  const where = f.name;
  const bad = (key: string, want: string): never => fail(`${where}: "${key}" must be ${want}, got ${JSON.stringify(c[key])}`);
  if (c.format !== MOR1E_FORMAT) bad('format', `"${MOR1E_FORMAT}"`);
  if (c.version !== MOR1E_VERSION) bad('version', `${MOR1E_VERSION} (this app reads version ${MOR1E_VERSION})`);
  const method = c.method as AdapterConfig['method'];
  if (method === 'lora') fail(`${where}: a LoRA adapter is read in PEFT's layout (${PEFT_CONFIG_FILE})`);
  if (method !== 'trex' && method !== 'mor1e' && method !== 'molora' && method !== 'sira') bad('method', '"trex", "mor1e", "molora" or "sira"');
  for (const [key, v] of [['token_coefficient', TOKEN_COEF], ['task_coefficient', TASK_COEF], ['gate_slope', GATE_SLOPE]] as const) if (c[key] !== v) bad(key, `${v} (METHOD.md's constant)`);
  let config: AdapterConfig;
  if (method === 'trex') {
    if (!isInt(c.r1)) bad('r1', 'a positive integer');
    if (!isInt(c.r2)) bad('r2', 'a positive integer');
    if (c.E !== (c.r1 as number) * (c.r2 as number)) bad('E', `r1 x r2 = ${(c.r1 as number) * (c.r2 as number)}`);
    config = { method, r1: c.r1 as number, r2: c.r2 as number };
  } else if (method === 'mor1e') {
    if (!isInt(c.E)) bad('E', 'a positive integer');
    for (const key of ['r1', 'r2']) if (c[key] != null && c[key] !== c.E) bad(key, `E = ${c.E} (or null)`);
    config = { method, E: c.E as number };
  } else {
    if (!isInt(c.r) || (c.r as number) % MOLORA_EXPERTS) bad('r', `a positive multiple of ${MOLORA_EXPERTS}`);
    if (c.E !== MOLORA_EXPERTS) bad('E', `${MOLORA_EXPERTS}`);
    config = { method, r: c.r as number };
  }
  const gated = method === 'trex' || method === 'mor1e';
  const E = c.E as number;
  if (gated) {
    if (c.topk != null && !(isInt(c.topk) && (c.topk as number) <= E)) bad('topk', `null (dense) or an integer in 1..${E}`);
    if (c.topk != null) config.topk = c.topk as number;
  } else if (c.topk != null && !(method === 'sira' && c.topk === SIRA_KEEP)) bad('topk', method === 'sira' ? `${SIRA_KEEP} (SiRA keeps the top 6 of 8) or null` : 'null');
  for (const key of ['use_router', 'use_intuition']) if (c[key] != null && typeof c[key] !== 'boolean') bad(key, 'true or false');
  for (const key of ['lambda_entropy', 'lambda_load_balance']) if (c[key] != null && (typeof c[key] !== 'number' || !Number.isFinite(c[key]))) bad(key, 'a number');
  if (c.use_router === false) config.useRouter = false;
  if (c.use_intuition === false) config.useIntuition = false;
  if (c.lambda_entropy) config.lambdaH = c.lambda_entropy as number;
  if (c.lambda_load_balance) config.lambdaLB = c.lambda_load_balance as number;

  const it = c.intuition as Json | undefined;
  if (typeof it !== 'object' || it === null || Array.isArray(it)) bad('intuition', 'an object { source, k, dim, layer, encoder }');
  const i = it as Json;
  const sources = ['model', 'encoder', 'supplied', 'none'];
  if (!sources.includes(i.source as string)) fail(`${where}: "intuition.source" must be one of ${sources.join(', ')}, got ${JSON.stringify(i.source)}`);
  let intuition: IntuitionRecord | null = null;
  if (gated) {
    if (!isInt(i.k)) fail(`${where}: "intuition.k" (the width of the scores s) must be a positive integer, got ${JSON.stringify(i.k)}`);
    if (i.source !== 'none' && !isInt(i.dim)) fail(`${where}: "intuition.dim" must be a positive integer, got ${JSON.stringify(i.dim)}`);
    if (i.layer != null && !isInt(i.layer, 0)) fail(`${where}: "intuition.layer" must be null or a block index, got ${JSON.stringify(i.layer)}`);
    if (i.encoder != null && typeof i.encoder !== 'string') fail(`${where}: "intuition.encoder" must be null or a string, got ${JSON.stringify(i.encoder)}`);
    if (i.center != null && typeof i.center !== 'boolean') fail(`${where}: "intuition.center" must be true or false, got ${JSON.stringify(i.center)}`);
    if (i.k !== E) config.k = i.k as number;
    intuition = { source: i.source as IntuitionRecord['source'], k: i.k as number, dim: i.source === 'none' ? null : (i.dim as number), layer: (i.layer as number | null) ?? null, encoder: (i.encoder as string | null) ?? null };
  }

  const sha = c.base_config_sha256;
  if (sha != null) {
    if (typeof sha !== 'string' || !/^[0-9a-f]{64}$/i.test(sha)) bad('base_config_sha256', 'null or a 64-digit hex SHA-256');
    if (!model.config) warnings.push("the base model's config.json was not given: base_config_sha256 not checked");
    else {
      const have = await sha256Hex(model.config);
      if (have !== (sha as string).toLowerCase()) {
        fail(
          `${where}: base_config_sha256 ${(sha as string).slice(0, 12)}… does not match the loaded model's config.json (${have.slice(0, 12)}…): ` +
            `the adapter was trained on another base model (${JSON.stringify(c.base_model_name_or_path ?? null)}), not this ${model.spec.modelType} model`,
        );
      }
    }
  }
  return { config, targetModules: c.target_modules, baseModel: typeof c.base_model_name_or_path === 'string' ? c.base_model_name_or_path : null, intuition, center: i.center === true };
}

/** Every adapted module's tensors from adapter_model.safetensors: none missing, none extra, shapes exact, values finite. */
async function readParams(file: SafetensorsFile, spec: ModelSpec, config: AdapterConfig): Promise<Map<string, AdapterParams<Float32Array>>> {
  const params = new Map<string, AdapterParams<Float32Array>>();
  const seen = new Set<string>();
  for (const m of adaptedModules({ spec, cfg: config })) {
    const p: AdapterParams<Float32Array> = { A: new Float32Array(0), B: new Float32Array(0), Wr: null, wOmega: null, wBeta: null, M: null };
    for (const t of m.tensors) {
      const key = tensorKey(m.path, t.name);
      const info = file.tensors.get(key);
      if (!info) fail(`${file.fileName}: missing tensor "${key}" (${t.field} of ${m.path}, [${t.shape.join(', ')}])`);
      if (info!.shape.length !== t.shape.length || info!.shape.some((v, j) => v !== t.shape[j])) {
        fail(`${file.fileName}: tensor "${key}" has shape [${info!.shape.join(', ')}] but this model's ${m.path} (${m.lin.in} → ${m.lin.out}) with the adapter config needs [${t.shape.join(', ')}]`);
      }
      const values = toFloat32(await readTensorBytes(file, key), info!.dtype);
      const bad = values.findIndex((v) => !Number.isFinite(v));
      if (bad >= 0) fail(`${file.fileName}: tensor "${key}" holds a non-finite value (${values[bad]}) at ${bad}`);
      p[t.field] = values;
      seen.add(key);
    }
    params.set(m.key, p);
  }
  const extra = [...file.tensors.keys()].filter((k) => !seen.has(k));
  if (extra.length) {
    fail(`${file.fileName}: tensor "${extra[0]}"${extra.length > 1 ? ` (and ${extra.length - 1} more)` : ''} belongs to no module the config adapts in this ${spec.modelType} model (a different model or config?)`);
  }
  return params;
}

async function readIntuition(files: ExportFile[], it: IntuitionRecord, center: boolean): Promise<IntuitionRecord> {
  if (it.source === 'none') return { ...it, centroids: null };
  const f = pick(files, INTUITION_FILE);
  if (!f) fail(`${INTUITION_FILE} is missing; the config's intuition source is "${it.source}" and needs its centroids`);
  const file = await header(f!);
  const info = file.tensors.get('centroids');
  if (!info) fail(`${f!.name}: missing tensor "centroids" (k x dim = ${it.k} x ${it.dim})`);
  if (info!.shape.length !== 2 || info!.shape[0] !== it.k || info!.shape[1] !== it.dim) {
    fail(`${f!.name}: tensor "centroids" has shape [${info!.shape.join(', ')}] but ${MOR1E_CONFIG_FILE}'s intuition needs [${it.k}, ${it.dim}]`);
  }
  const centroids = toFloat32(await readTensorBytes(file, 'centroids'), info!.dtype);
  if (!center) return { ...it, centroids, mean: null };
  const m = file.tensors.get('mean');
  if (!m) fail(`${f!.name}: missing tensor "mean" (dim = ${it.dim}); ${MOR1E_CONFIG_FILE}'s intuition says the embeddings were centred (center: true)`);
  if (m!.shape.length !== 1 || m!.shape[0] !== it.dim) fail(`${f!.name}: tensor "mean" has shape [${m!.shape.join(', ')}] but ${MOR1E_CONFIG_FILE}'s intuition needs [${it.dim}]`);
  return { ...it, centroids, mean: toFloat32(await readTensorBytes(file, 'mean'), m!.dtype) };
}
