// Where each weight of a GPT-2 or Llama-family model lives, under canonical Hugging Face names
// (GPT-2 without the optional "transformer." prefix), with the shape config.json implies. The
// float64 reference forward and the GPU model both walk this one layout. BERT sentence encoders
// have their own (encoderLayout: HF BertModel names without the optional "bert." prefix).
import type { ModelSpec } from './config.ts';

/** A linear layer y = x·Wᵀ + b (Llama, stored out x in) or y = x·W + b (GPT-2 Conv1D, stored in x out). */
export interface Linear {
  w: string;
  b: string | null;
  in: number;
  out: number;
  /** True when W is stored (out, in): the matmul reads it transposed. */
  outIn: boolean;
}

export interface Norm {
  w: string;
  b: string | null;
}

export interface BlockLayout {
  norm1: Norm;
  norm2: Norm;
  /** GPT-2: fused q|k|v projection (C → 3C). */
  qkv: Linear | null;
  /** Llama family: separate projections. */
  q: Linear | null;
  k: Linear | null;
  v: Linear | null;
  o: Linear;
  /** GPT-2 MLP: fc (C → I), proj (I → C). Llama MLP: gate, up (C → I), down (I → C). */
  fc: Linear | null;
  proj: Linear | null;
  gate: Linear | null;
  up: Linear | null;
  down: Linear | null;
}

export interface ModelLayout {
  embed: string;
  /** GPT-2 learned positions. */
  pos: string | null;
  blocks: BlockLayout[];
  finalNorm: Norm;
  /** The LM head's weight (V, C): the embedding itself when tied. */
  head: string;
  /** Every stored tensor: canonical name → shape. */
  shapes: Map<string, number[]>;
}

export function modelLayout(spec: ModelSpec): ModelLayout {
  if (spec.kind !== 'causal-lm') throw new Error(`modelLayout: ${spec.modelType} is a sentence encoder, not a causal language model (see encoderLayout)`);
  const shapes = new Map<string, number[]>();
  const C = spec.hidden, I = spec.intermediate, D = spec.headDim;
  const add = (name: string, shape: number[]) => (shapes.set(name, shape), name);
  const linear = (name: string, inDim: number, outDim: number, bias: boolean, outIn: boolean): Linear => ({
    w: add(`${name}.weight`, outIn ? [outDim, inDim] : [inDim, outDim]),
    b: bias ? add(`${name}.bias`, [outDim]) : null,
    in: inDim,
    out: outDim,
    outIn,
  });
  const norm = (name: string, bias: boolean): Norm => ({ w: add(`${name}.weight`, [C]), b: bias ? add(`${name}.bias`, [C]) : null });
  const blocks: BlockLayout[] = [];
  if (spec.arch === 'gpt2') {
    const embed = add('wte.weight', [spec.vocabSize, C]);
    const pos = add('wpe.weight', [spec.maxPositions, C]);
    for (let l = 0; l < spec.layers; l++) {
      const p = `h.${l}`;
      blocks.push({
        norm1: norm(`${p}.ln_1`, true),
        qkv: linear(`${p}.attn.c_attn`, C, 3 * C, true, false),
        q: null, k: null, v: null,
        o: linear(`${p}.attn.c_proj`, C, C, true, false),
        norm2: norm(`${p}.ln_2`, true),
        fc: linear(`${p}.mlp.c_fc`, C, I, true, false),
        proj: linear(`${p}.mlp.c_proj`, I, C, true, false),
        gate: null, up: null, down: null,
      });
    }
    return { embed, pos, blocks, finalNorm: norm('ln_f', true), head: embed, shapes };
  }
  const embed = add('model.embed_tokens.weight', [spec.vocabSize, C]);
  for (let l = 0; l < spec.layers; l++) {
    const p = `model.layers.${l}`;
    blocks.push({
      norm1: norm(`${p}.input_layernorm`, false),
      qkv: null,
      q: linear(`${p}.self_attn.q_proj`, C, spec.heads * D, spec.qkvBias, true),
      k: linear(`${p}.self_attn.k_proj`, C, spec.kvHeads * D, spec.qkvBias, true),
      v: linear(`${p}.self_attn.v_proj`, C, spec.kvHeads * D, spec.qkvBias, true),
      o: linear(`${p}.self_attn.o_proj`, spec.heads * D, C, spec.oBias, true),
      norm2: norm(`${p}.post_attention_layernorm`, false),
      fc: null, proj: null,
      gate: linear(`${p}.mlp.gate_proj`, C, I, spec.mlpBias, true),
      up: linear(`${p}.mlp.up_proj`, C, I, spec.mlpBias, true),
      down: linear(`${p}.mlp.down_proj`, I, C, spec.mlpBias, true),
    });
  }
  const finalNorm = norm('model.norm', false);
  const head = spec.tiedEmbeddings ? embed : add('lm_head.weight', [spec.vocabSize, C]);
  return { embed, pos: null, blocks, finalNorm, head, shapes };
}

/** One post-LayerNorm BERT block: x = LN(x + Attn(x)); x = LN(x + proj(gelu(fc(x)))). */
export interface EncoderBlockLayout {
  q: Linear;
  k: Linear;
  v: Linear;
  o: Linear;
  /** attention.output.LayerNorm, after the attention residual. */
  attnNorm: Norm;
  /** intermediate.dense (C → I) and output.dense (I → C). */
  fc: Linear;
  proj: Linear;
  /** output.LayerNorm, after the MLP residual. */
  mlpNorm: Norm;
}

export interface EncoderLayout {
  embed: string;
  pos: string;
  /** Token-type (segment) embeddings; sentences use row 0. */
  tokenType: string;
  embedNorm: Norm;
  blocks: EncoderBlockLayout[];
  /** Every stored tensor: canonical name → shape. */
  shapes: Map<string, number[]>;
}

/** HF BertModel tensor names (the all-MiniLM-L6-v2 layout); Linear weights are stored (out, in). */
export function encoderLayout(spec: ModelSpec): EncoderLayout {
  if (spec.kind !== 'encoder') throw new Error(`encoderLayout: ${spec.modelType} is a causal language model, not a sentence encoder`);
  const shapes = new Map<string, number[]>();
  const C = spec.hidden, I = spec.intermediate;
  const add = (name: string, shape: number[]) => (shapes.set(name, shape), name);
  const linear = (name: string, inDim: number, outDim: number): Linear => ({
    w: add(`${name}.weight`, [outDim, inDim]), b: add(`${name}.bias`, [outDim]), in: inDim, out: outDim, outIn: true,
  });
  const norm = (name: string): Norm => ({ w: add(`${name}.weight`, [C]), b: add(`${name}.bias`, [C]) });
  const embed = add('embeddings.word_embeddings.weight', [spec.vocabSize, C]);
  const pos = add('embeddings.position_embeddings.weight', [spec.maxPositions, C]);
  const tokenType = add('embeddings.token_type_embeddings.weight', [spec.typeVocabSize, C]);
  const embedNorm = norm('embeddings.LayerNorm');
  const blocks: EncoderBlockLayout[] = [];
  for (let l = 0; l < spec.layers; l++) {
    const p = `encoder.layer.${l}`;
    blocks.push({
      q: linear(`${p}.attention.self.query`, C, C),
      k: linear(`${p}.attention.self.key`, C, C),
      v: linear(`${p}.attention.self.value`, C, C),
      o: linear(`${p}.attention.output.dense`, C, C),
      attnNorm: norm(`${p}.attention.output.LayerNorm`),
      fc: linear(`${p}.intermediate.dense`, C, I),
      proj: linear(`${p}.output.dense`, I, C),
      mlpNorm: norm(`${p}.output.LayerNorm`),
    });
  }
  return { embed, pos, tokenType, embedNorm, blocks, shapes };
}

/** Names a canonical tensor may carry in a file (GPT-2 checkpoints may prefix "transformer.", BERT ones "bert."). */
export function storedNames(spec: ModelSpec, canonical: string): string[] {
  if (spec.arch === 'gpt2') return [canonical, `transformer.${canonical}`];
  if (spec.arch === 'bert') return [canonical, `bert.${canonical}`];
  return [canonical];
}

/** Parameters the layout holds (the tied head counted once). */
export function parameterCount(layout: { shapes: Map<string, number[]> }): number {
  let n = 0;
  for (const s of layout.shapes.values()) n += s.reduce((a, d) => a * d, 1);
  return n;
}
