// Real-size model folders generated at test time (never committed): a Hugging Face Llama-layout
// config.json with real dimensions, a model.safetensors of seeded pseudo-random weights written
// tensor by tensor (the process never holds the file), and the tiny-llama fixture's tokenizer
// (its ids fit any larger vocabulary). Served by e2e/hub-server.mjs from $MOR1E_SCALE_DIR.
import { closeSync, copyFileSync, existsSync, mkdirSync, openSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { rng } from '../src/util/random.ts';

export const SCALE_DIR = process.env.MOR1E_SCALE_DIR ?? join(tmpdir(), 'mor1e-scale');

export interface LlamaShape {
  hidden: number;
  intermediate: number;
  layers: number;
  heads: number;
  kvHeads: number;
  vocab: number;
  maxPositions: number;
  ropeTheta: number;
  tied: boolean;
}

/** SmolLM2-135M's dimensions (HuggingFaceTB/SmolLM2-135M config.json). */
export const SMOLLM2_135M: LlamaShape = { hidden: 576, intermediate: 1536, layers: 30, heads: 9, kvHeads: 3, vocab: 49152, maxPositions: 8192, ropeTheta: 100000, tied: true };

/** The tensors of a Llama-layout model in file order: name, shape, and whether it is a norm weight (ones). */
function tensors(s: LlamaShape): Array<{ name: string; shape: number[]; norm: boolean }> {
  const D = s.hidden / s.heads, out: Array<{ name: string; shape: number[]; norm: boolean }> = [];
  out.push({ name: 'model.embed_tokens.weight', shape: [s.vocab, s.hidden], norm: false });
  for (let l = 0; l < s.layers; l++) {
    const p = `model.layers.${l}`;
    out.push(
      { name: `${p}.input_layernorm.weight`, shape: [s.hidden], norm: true },
      { name: `${p}.self_attn.q_proj.weight`, shape: [s.heads * D, s.hidden], norm: false },
      { name: `${p}.self_attn.k_proj.weight`, shape: [s.kvHeads * D, s.hidden], norm: false },
      { name: `${p}.self_attn.v_proj.weight`, shape: [s.kvHeads * D, s.hidden], norm: false },
      { name: `${p}.self_attn.o_proj.weight`, shape: [s.hidden, s.heads * D], norm: false },
      { name: `${p}.post_attention_layernorm.weight`, shape: [s.hidden], norm: true },
      { name: `${p}.mlp.gate_proj.weight`, shape: [s.intermediate, s.hidden], norm: false },
      { name: `${p}.mlp.up_proj.weight`, shape: [s.intermediate, s.hidden], norm: false },
      { name: `${p}.mlp.down_proj.weight`, shape: [s.hidden, s.intermediate], norm: false },
    );
  }
  out.push({ name: 'model.norm.weight', shape: [s.hidden], norm: true });
  if (!s.tied) out.push({ name: 'lm_head.weight', shape: [s.vocab, s.hidden], norm: false });
  return out;
}

/**
 * Writes `<SCALE_DIR>/<name>/` (skipped when a complete copy exists): weights uniform in
 * ±1/√(in) from `seed`, norms 1 plus a small seeded wobble. Returns the folder and the file size.
 */
export function writeLlamaModel(name: string, s: LlamaShape, seed: number): { dir: string; bytes: number } {
  const dir = join(SCALE_DIR, name);
  const list = tensors(s);
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  let offset = 0;
  for (const t of list) {
    const n = t.shape.reduce((a, d) => a * d, 1) * 4;
    header[t.name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + n] };
    offset += n;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + json.length) % 8)) % 8);
  const bytes = 8 + json.length + offset;
  const file = join(dir, 'model.safetensors');
  if (existsSync(file) && statSync(file).size === bytes && existsSync(join(dir, 'tokenizer.json'))) return { dir, bytes };
  mkdirSync(dir, { recursive: true });
  const fixture = join(import.meta.dirname, 'fixtures', 'models', 'tiny-llama');
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) copyFileSync(join(fixture, f), join(dir, f));
  writeFileSync(join(dir, 'config.json'), JSON.stringify({
    architectures: ['LlamaForCausalLM'], model_type: 'llama', vocab_size: s.vocab, hidden_size: s.hidden, intermediate_size: s.intermediate,
    num_hidden_layers: s.layers, num_attention_heads: s.heads, num_key_value_heads: s.kvHeads, max_position_embeddings: s.maxPositions,
    rms_norm_eps: 1e-5, rope_theta: s.ropeTheta, hidden_act: 'silu', tie_word_embeddings: s.tied, attention_bias: false, rope_scaling: null,
    bos_token_id: 1, eos_token_id: 2, torch_dtype: 'float32',
  }, null, 2));
  const fd = openSync(file, 'w');
  try {
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(json.length));
    writeSync(fd, len);
    writeSync(fd, Buffer.from(json, 'utf8'));
    const rand = rng(seed);
    for (const t of list) {
      const n = t.shape.reduce((a, d) => a * d, 1);
      const bound = t.norm ? 0.1 : 1 / Math.sqrt(t.shape[t.shape.length - 1]);
      const chunk = new Float32Array(Math.min(n, 1 << 20));
      for (let done = 0; done < n; done += chunk.length) {
        const m = Math.min(chunk.length, n - done);
        for (let i = 0; i < m; i++) chunk[i] = (t.norm ? 1 : 0) + (rand() * 2 - 1) * bound;
        writeSync(fd, new Uint8Array(chunk.buffer, 0, m * 4));
      }
    }
  } finally {
    closeSync(fd);
  }
  return { dir, bytes };
}
