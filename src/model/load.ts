// Opening a model folder: config.json → ModelSpec, tokenizer files, safetensors headers (one
// file or shards from model.safetensors.index.json), every tensor the layout needs found with
// the shape config.json implies, and a memory plan against the device's limits, all before
// any GPU buffer is allocated. Each failure is one clear message naming the file and tensor.
// openModel takes causal language models only; openEncoder takes sentence encoders (BERT).
import { isCausalLM, parseModelConfig, type CausalModelSpec, type ModelSpec } from './config.ts';
import { encoderLayout, modelLayout, parameterCount, storedNames, type EncoderLayout, type ModelLayout } from './layout.ts';
import { readSafetensorsHeader, readTensorBytes, type SafetensorsFile, type TensorInfo } from './safetensors.ts';
import { toFloat32, type DType } from './dtype.ts';
import { TextTokenizer } from './tokenizer.ts';
import type { ModelFiles } from './sources.ts';

export class ModelLoadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelLoadError';
  }
}

export interface StoredTensor {
  file: SafetensorsFile;
  info: TensorInfo;
}

export interface OpenedModel {
  source: string;
  spec: CausalModelSpec;
  layout: ModelLayout;
  tokenizer: TextTokenizer;
  /** Canonical name → where its bytes are. */
  tensors: Map<string, StoredTensor>;
  dtypes: DType[];
  parameters: number;
  /** Tensors in the files that the model does not use (e.g. GPT-2's attn.bias masks). */
  unused: string[];
}

async function readJson(files: ModelFiles, name: string, required: boolean): Promise<unknown> {
  const blob = await files.open(name);
  if (!blob) {
    if (required) throw new ModelLoadError(`${name} not found in ${files.label}`);
    return undefined;
  }
  try {
    return JSON.parse(await blob.text());
  } catch (e) {
    throw new ModelLoadError(`${name} in ${files.label} is not valid JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
}

async function weightFiles(files: ModelFiles): Promise<SafetensorsFile[]> {
  const index = (await readJson(files, 'model.safetensors.index.json', false)) as { weight_map?: Record<string, string> } | undefined;
  let names: string[];
  if (index) {
    if (!index.weight_map || typeof index.weight_map !== 'object') throw new ModelLoadError('model.safetensors.index.json has no "weight_map"');
    names = [...new Set(Object.values(index.weight_map))];
  } else {
    names = ['model.safetensors'];
  }
  const out: SafetensorsFile[] = [];
  for (const name of names) {
    // Weights are read lazily, a tensor at a time (range requests or a disk-backed Blob).
    const src = files.openRange ? await files.openRange(name) : await files.open(name);
    if (!src) {
      throw new ModelLoadError(
        index ? `${name}, listed in model.safetensors.index.json, not found in ${files.label}` : `model.safetensors not found in ${files.label} (only safetensors weights are supported, not PyTorch .bin files)`,
      );
    }
    out.push(await readSafetensorsHeader(src, name));
  }
  return out;
}

/** A sentence encoder (BERT) opened for embedding: same checks as a model, its own layout. */
export interface OpenedEncoder {
  source: string;
  spec: ModelSpec;
  layout: EncoderLayout;
  tokenizer: TextTokenizer;
  tensors: Map<string, StoredTensor>;
  dtypes: DType[];
  parameters: number;
  unused: string[];
}

async function readSpec(files: ModelFiles): Promise<ModelSpec> {
  try {
    return parseModelConfig(await readJson(files, 'config.json', true));
  } catch (e) {
    if (e instanceof ModelLoadError) throw e;
    throw new ModelLoadError(e instanceof Error ? e.message : String(e));
  }
}

/** Opens a causal language model (GPT-2, Llama family); a sentence encoder is refused before its weights are read. */
export async function openModel(files: ModelFiles): Promise<OpenedModel> {
  const spec = await readSpec(files);
  if (!isCausalLM(spec)) {
    throw new ModelLoadError(
      `${files.label}: config.json's model_type "${spec.modelType}" is a sentence encoder (bidirectional, no language-model head), ` +
        "not a causal language model: it cannot generate text or be finetuned. Load it as the intuition's sentence encoder instead.",
    );
  }
  const { tokenizer, tensors, unused, dtypes, layout } = await openWeights(files, spec, modelLayout(spec));
  return { source: files.label, spec, layout, tokenizer, tensors, dtypes, parameters: parameterCount(layout), unused };
}

/**
 * Opens a sentence encoder (BERT: config.json, tokenizer.json, safetensors). A causal model is
 * refused, and so is a sentence-transformers folder whose 1_Pooling/config.json asks for a
 * pooling other than the mean over tokens (the only one implemented).
 */
export async function openEncoder(files: ModelFiles): Promise<OpenedEncoder> {
  const spec = await readSpec(files);
  if (spec.kind !== 'encoder') {
    throw new ModelLoadError(
      `${files.label}: config.json's model_type "${spec.modelType}" is a causal language model, not a sentence encoder; ` +
        `sentence encoders with model_type "bert" (e.g. sentence-transformers/all-MiniLM-L6-v2) load here`,
    );
  }
  const pooling = (await readJson(files, '1_Pooling/config.json', false)) as Record<string, unknown> | undefined;
  if (pooling && pooling.pooling_mode_mean_tokens !== true) {
    const modes = Object.keys(pooling).filter((k) => k.startsWith('pooling_mode_') && pooling[k] === true);
    throw new ModelLoadError(
      `1_Pooling/config.json in ${files.label} asks for ${modes.length ? modes.join(', ') : 'no pooling mode'}; only mean pooling (pooling_mode_mean_tokens) is implemented`,
    );
  }
  const { tokenizer, tensors, unused, dtypes, layout } = await openWeights(files, spec, encoderLayout(spec));
  return { source: files.label, spec, layout, tokenizer, tensors, dtypes, parameters: parameterCount(layout), unused };
}

/** The tokenizer, and every tensor of `layout` found in the safetensors files with its expected shape. */
async function openWeights<L extends { shapes: Map<string, number[]> }>(
  files: ModelFiles, spec: ModelSpec, layout: L,
): Promise<{ tokenizer: TextTokenizer; tensors: Map<string, StoredTensor>; unused: string[]; dtypes: DType[]; layout: L }> {
  const tokJson = await readJson(files, 'tokenizer.json', false);
  if (tokJson === undefined) throw new ModelLoadError(`tokenizer.json not found in ${files.label}: the model cannot read text without its tokenizer`);
  const tokConfig = (await readJson(files, 'tokenizer_config.json', false)) ?? {};
  let tokenizer: TextTokenizer;
  try {
    tokenizer = new TextTokenizer(tokJson, tokConfig);
  } catch (e) {
    throw new ModelLoadError(e instanceof Error ? e.message : String(e));
  }
  if (tokenizer.vocabSize > spec.vocabSize) {
    throw new ModelLoadError(`tokenizer.json has ${tokenizer.vocabSize} tokens but config.json's vocab_size is ${spec.vocabSize}`);
  }
  const shards = await weightFiles(files);
  const byName = new Map<string, StoredTensor>();
  for (const file of shards) for (const info of file.tensors.values()) byName.set(info.name, { file, info });
  const tensors = new Map<string, StoredTensor>();
  const used = new Set<string>();
  for (const [canonical, shape] of layout.shapes) {
    const names = storedNames(spec, canonical);
    const found = names.map((n) => byName.get(n)).find((t) => t !== undefined);
    if (!found) {
      const where = shards.map((s) => s.fileName).join(', ');
      for (const file of shards) {
        const other = names.map((n) => file.others.get(n)).find((t) => t !== undefined);
        if (other) throw new ModelLoadError(`${file.fileName}: tensor "${other.name}" is stored as ${other.dtype}; weights must be F32, F16 or BF16`);
      }
      throw new ModelLoadError(`${where}: missing tensor "${canonical}" that config.json (${spec.modelType}, ${spec.layers} layers) requires`);
    }
    if (found.info.shape.length !== shape.length || found.info.shape.some((d, i) => d !== shape[i])) {
      throw new ModelLoadError(
        `${found.file.fileName}: tensor "${found.info.name}" has shape [${found.info.shape.join(', ')}] but config.json implies [${shape.join(', ')}]`,
      );
    }
    tensors.set(canonical, found);
    used.add(found.info.name);
  }
  const unused = [...byName.keys(), ...shards.flatMap((s) => [...s.others.keys()])].filter((n) => !used.has(n));
  const dtypes = [...new Set([...tensors.values()].map((t) => t.info.dtype))];
  return { tokenizer, tensors, unused, dtypes, layout };
}

/** One tensor's values as f32 (read from its file slice and converted). */
export async function readTensor(model: { tensors: Map<string, StoredTensor> }, canonical: string): Promise<Float32Array> {
  const t = model.tensors.get(canonical);
  if (!t) throw new ModelLoadError(`no tensor "${canonical}"`);
  return toFloat32(await readTensorBytes(t.file, t.info.name), t.info.dtype);
}

export interface MemoryPlan {
  /** Bytes of weights on the GPU (f32). */
  weightBytes: number;
  largest: { name: string; bytes: number };
  /** Most tokens one forward pass can hold: the context, or fewer where the binding limit caps logits / MLP activations (an encoder: a batch's B·T). */
  maxTokens: number;
  /** Most tokens (B·T) of one pass over a batch: the binding limit's cap on logits / activations. */
  maxBatchTokens: number;
}

const MiB = 1024 * 1024;
const mib = (b: number) => `${(b / MiB).toFixed(b < 10 * MiB ? 1 : 0)} MiB`;

/**
 * Checks every buffer against the device limits before anything is allocated. Per token, a
 * causal model holds logits (V) and MLP / attention activations; an encoder no logits.
 */
export function planMemory(
  model: { spec: ModelSpec; layout: { shapes: Map<string, number[]> } }, limits: { maxStorageBufferBindingSize: number; maxBufferSize: number },
): MemoryPlan {
  const cap = Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize);
  let weightBytes = 0;
  let largest = { name: '', bytes: 0 };
  for (const [name, shape] of model.layout.shapes) {
    const bytes = shape.reduce((a, d) => a * d, 1) * 4;
    weightBytes += bytes;
    if (bytes > largest.bytes) largest = { name, bytes };
  }
  const s = model.spec;
  if (largest.bytes > cap) {
    const shape = model.layout.shapes.get(largest.name)!;
    const maxRows = Math.floor(cap / (shape[shape.length - 1] * 4));
    throw new ModelLoadError(
      `This GPU can bind at most ${mib(cap)} per buffer (maxStorageBufferBindingSize / maxBufferSize), but tensor "${largest.name}" ` +
        `[${shape.join(', ')}] needs ${mib(largest.bytes)} in f32. Nothing was allocated. Models whose largest tensor fits in ${mib(cap)} load here: ` +
        `with this model's width that means at most ${maxRows.toLocaleString('en-US')} rows (e.g. vocabulary entries); a smaller model ` +
        `(SmolLM2-135M's largest tensor is 108 MiB) or a GPU with a larger binding limit would work.`,
    );
  }
  const widest = Math.max(3 * s.hidden, s.intermediate, s.heads * s.headDim);
  const perToken = (s.kind === 'encoder' ? widest : Math.max(s.vocabSize, widest)) * 4;
  // An encoder's pass holds a batch of sequences: its token budget is not capped by the context.
  const maxTokens = Math.floor(cap / perToken);
  if (maxTokens < 1) throw new ModelLoadError(`This GPU's ${mib(cap)} binding limit cannot hold even one token's activations (${perToken} bytes)`);
  return { weightBytes, largest, maxTokens: s.kind === 'causal-lm' ? Math.min(s.maxPositions, maxTokens) : maxTokens, maxBatchTokens: maxTokens };
}
