// One internal model spec, normalised from a Hugging Face config.json of GPT-2 or the Llama
// family (llama, qwen2, mistral without a sliding window), the causal language models, or of a
// BERT sentence encoder (model_type "bert": bidirectional, post-LayerNorm, learned positions and
// token types; the all-MiniLM-L6-v2 layout). `kind` keeps the two apart: an encoder can embed
// text but never generate or be finetuned. Every rejection says which field of config.json is
// wrong and what was expected.

export type CausalArch = 'gpt2' | 'llama';
export type Arch = CausalArch | 'bert';
/** 'causal-lm': generates text and trains; 'encoder': bidirectional, sentence embeddings only. */
export type ModelKind = 'causal-lm' | 'encoder';

export interface ModelSpec {
  arch: Arch;
  kind: ModelKind;
  /** config.json's model_type. */
  modelType: string;
  vocabSize: number;
  /** Model width C. */
  hidden: number;
  layers: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  /** MLP inner width. */
  intermediate: number;
  /** Longest sequence the position scheme supports (learned positions / context). */
  maxPositions: number;
  norm: 'layernorm' | 'rmsnorm';
  normEps: number;
  /** gelu_erf: exact GELU 0.5·x·(1 + erf(x/√2)) (BERT's "gelu"); gelu_tanh: GPT-2's gelu_new. */
  activation: 'gelu_tanh' | 'gelu_erf' | 'silu';
  /** RoPE base; null = learned absolute positions (GPT-2). */
  ropeTheta: number | null;
  /** Biases on q, k, v projections (Qwen2, Llama with attention_bias). */
  qkvBias: boolean;
  /** Bias on the attention output projection. */
  oBias: boolean;
  /** Biases on the MLP projections. */
  mlpBias: boolean;
  tiedEmbeddings: boolean;
  /** Rows of the token-type (segment) embedding table (BERT); 0 = none. */
  typeVocabSize: number;
  bosTokenId: number | null;
  eosTokenIds: number[];
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** A spec of a causal language model (what loadModel, generation and training take). */
export type CausalModelSpec = ModelSpec & { arch: CausalArch; kind: 'causal-lm' };

export function isCausalLM(spec: ModelSpec): spec is CausalModelSpec {
  return spec.kind === 'causal-lm';
}

const LLAMA_FAMILY = ['llama', 'qwen2', 'mistral'];
export const SUPPORTED_MODEL_TYPES = ['gpt2', ...LLAMA_FAMILY];
/** Sentence encoders (loadEncoder, for the intuition's instance embeddings). */
export const ENCODER_MODEL_TYPES = ['bert'];

type Json = Record<string, unknown>;

function int(c: Json, key: string, fallback?: number): number {
  const v = c[key] ?? fallback;
  if (!Number.isSafeInteger(v) || (v as number) <= 0) {
    throw new ConfigError(`config.json: "${key}" must be a positive integer, got ${JSON.stringify(c[key])}`);
  }
  return v as number;
}

function num(c: Json, key: string, fallback: number): number {
  const v = c[key] ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new ConfigError(`config.json: "${key}" must be a positive number, got ${JSON.stringify(c[key])}`);
  return v;
}

function ids(v: unknown): number[] {
  if (v === undefined || v === null) return [];
  return (Array.isArray(v) ? v : [v]).filter((x): x is number => Number.isInteger(x));
}

export function parseModelConfig(raw: unknown): ModelSpec {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ConfigError('config.json is not a JSON object');
  const c = raw as Json;
  const modelType = c.model_type;
  if (typeof modelType !== 'string') throw new ConfigError('config.json has no "model_type"');
  if (modelType === 'gpt2') return parseGpt2(c);
  if (LLAMA_FAMILY.includes(modelType)) return parseLlama(c, modelType);
  if (modelType === 'bert') return parseBert(c);
  throw new ConfigError(
    `config.json: model_type "${modelType}" is not supported; supported: ${SUPPORTED_MODEL_TYPES.join(', ')} (causal language models) ` +
      `and ${ENCODER_MODEL_TYPES.join(', ')} (sentence encoders)`,
  );
}

function parseGpt2(c: Json): ModelSpec {
  const hidden = int(c, 'n_embd');
  const heads = int(c, 'n_head');
  if (hidden % heads) throw new ConfigError(`config.json: n_embd ${hidden} is not divisible by n_head ${heads}`);
  const act = c.activation_function ?? 'gelu_new';
  if (!['gelu_new', 'gelu_pytorch_tanh', 'gelu_fast'].includes(act as string)) {
    throw new ConfigError(`config.json: activation_function "${String(act)}" is not supported for gpt2 (gelu_new is)`);
  }
  return {
    arch: 'gpt2',
    kind: 'causal-lm',
    modelType: 'gpt2',
    vocabSize: int(c, 'vocab_size'),
    hidden,
    layers: int(c, 'n_layer'),
    heads,
    kvHeads: heads,
    headDim: hidden / heads,
    intermediate: c.n_inner == null ? 4 * hidden : int(c, 'n_inner'),
    maxPositions: int(c, 'n_positions', c.n_ctx as number),
    norm: 'layernorm',
    normEps: num(c, 'layer_norm_epsilon', 1e-5),
    activation: 'gelu_tanh',
    ropeTheta: null,
    qkvBias: true,
    oBias: true,
    mlpBias: true,
    tiedEmbeddings: true,
    typeVocabSize: 0,
    bosTokenId: ids(c.bos_token_id)[0] ?? null,
    eosTokenIds: ids(c.eos_token_id),
  };
}

function parseLlama(c: Json, modelType: string): ModelSpec {
  const hidden = int(c, 'hidden_size');
  const heads = int(c, 'num_attention_heads');
  const kvHeads = int(c, 'num_key_value_heads', heads);
  if (heads % kvHeads) throw new ConfigError(`config.json: num_attention_heads ${heads} is not a multiple of num_key_value_heads ${kvHeads}`);
  const headDim = c.head_dim == null ? hidden / heads : int(c, 'head_dim');
  if (!Number.isInteger(headDim) || headDim % 2) throw new ConfigError(`config.json: head dimension ${headDim} must be an even integer`);
  const act = c.hidden_act ?? 'silu';
  if (act !== 'silu') throw new ConfigError(`config.json: hidden_act "${String(act)}" is not supported (silu is)`);
  if (c.rope_scaling != null) {
    const type = (c.rope_scaling as Json).rope_type ?? (c.rope_scaling as Json).type;
    throw new ConfigError(`config.json: rope_scaling (${String(type)}) is not supported yet; models with plain RoPE are`);
  }
  let maxPositions = int(c, 'max_position_embeddings', 2048);
  if (modelType === 'qwen2' && c.use_sliding_window === true) throw new ConfigError('config.json: use_sliding_window = true is not supported');
  if (modelType === 'mistral' && c.sliding_window != null) {
    // Exact as long as sequences stay within the window: cap the context there.
    maxPositions = Math.min(maxPositions, int(c, 'sliding_window'));
  }
  const attentionBias = c.attention_bias === true;
  return {
    arch: 'llama',
    kind: 'causal-lm',
    modelType,
    vocabSize: int(c, 'vocab_size'),
    hidden,
    layers: int(c, 'num_hidden_layers'),
    heads,
    kvHeads,
    headDim,
    intermediate: int(c, 'intermediate_size'),
    maxPositions,
    norm: 'rmsnorm',
    normEps: num(c, 'rms_norm_eps', 1e-6),
    activation: 'silu',
    ropeTheta: num(c, 'rope_theta', 10000),
    qkvBias: modelType === 'qwen2' || attentionBias,
    oBias: attentionBias,
    mlpBias: c.mlp_bias === true,
    tiedEmbeddings: c.tie_word_embeddings === true,
    typeVocabSize: 0,
    bosTokenId: ids(c.bos_token_id)[0] ?? null,
    eosTokenIds: ids(c.eos_token_id),
  };
}

/** HF BertModel (e.g. sentence-transformers/all-MiniLM-L6-v2): a sentence encoder. */
function parseBert(c: Json): ModelSpec {
  const hidden = int(c, 'hidden_size');
  const heads = int(c, 'num_attention_heads');
  if (hidden % heads) throw new ConfigError(`config.json: hidden_size ${hidden} is not divisible by num_attention_heads ${heads}`);
  const act = c.hidden_act ?? 'gelu';
  let activation: ModelSpec['activation'];
  if (act === 'gelu') activation = 'gelu_erf';
  else if (act === 'gelu_new' || act === 'gelu_pytorch_tanh') activation = 'gelu_tanh';
  else throw new ConfigError(`config.json: hidden_act "${String(act)}" is not supported for bert (gelu, gelu_new, gelu_pytorch_tanh are)`);
  const posType = c.position_embedding_type ?? 'absolute';
  if (posType !== 'absolute') throw new ConfigError(`config.json: position_embedding_type "${String(posType)}" is not supported (absolute is)`);
  if (c.is_decoder === true) throw new ConfigError('config.json: is_decoder = true describes a BERT decoder, not a sentence encoder');
  return {
    arch: 'bert',
    kind: 'encoder',
    modelType: 'bert',
    vocabSize: int(c, 'vocab_size'),
    hidden,
    layers: int(c, 'num_hidden_layers'),
    heads,
    kvHeads: heads,
    headDim: hidden / heads,
    intermediate: int(c, 'intermediate_size'),
    maxPositions: int(c, 'max_position_embeddings', 512),
    norm: 'layernorm',
    normEps: num(c, 'layer_norm_eps', 1e-12),
    activation,
    ropeTheta: null,
    qkvBias: true,
    oBias: true,
    mlpBias: true,
    tiedEmbeddings: false,
    typeVocabSize: int(c, 'type_vocab_size', 2),
    bosTokenId: null,
    eosTokenIds: [],
  };
}
