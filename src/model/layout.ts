// Where each weight of a GPT-2 or Llama-family model lives, under canonical Hugging Face names
// (GPT-2 without the optional "transformer." prefix), with the shape config.json implies. The
// float64 reference forward and the GPU model both walk this one layout.
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

/** Names a canonical tensor may carry in a file (GPT-2 checkpoints may prefix "transformer."). */
export function storedNames(spec: ModelSpec, canonical: string): string[] {
  return spec.arch === 'gpt2' ? [canonical, `transformer.${canonical}`] : [canonical];
}

/** Parameters the layout holds (the tied head counted once). */
export function parameterCount(layout: ModelLayout): number {
  let n = 0;
  for (const s of layout.shapes.values()) n += s.reduce((a, d) => a * d, 1);
  return n;
}
