// Instance embeddings for the intuition (METHOD.md §2): each instance's prompt text (not its
// answer) as one L2-normalised vector, from the frozen base model (mean-pooled hidden states at a
// chosen block, on the GPU, in chunks with progress) or from a sentence encoder. Vectors supplied
// with the data skip this step.
import type { GpuModel } from '../model/gpuModel.ts';
import type { TextTokenizer } from '../model/tokenizer.ts';
import type { Example } from '../data/types.ts';

/** Most tokens of a prompt that an embedding reads (the start of the prompt). */
export const EMBED_MAX_TOKENS = 256;
/** Prompts per GPU submission. */
const CHUNK = 16;

export interface Embedder {
  /** What produced the vectors, for the adapter's config: "model", "encoder". */
  readonly source: 'model' | 'encoder';
  readonly dim: number;
  /** L2-normalised embeddings (texts.length x dim). */
  embed(texts: string[], onProgress?: (done: number, total: number) => void): Promise<Float32Array>;
}

/**
 * The last embeddings an embedder made, kept so that another intuition on the same texts (a new
 * k, seed or method: `npm run compare` runs several) skips the embedding, the costly part. One
 * entry; a different key (model, layer, encoder) or different texts replace it.
 */
export class EmbeddingCache {
  private last: { key: string; texts: string[]; vectors: Float32Array } | null = null;
  hits = 0;

  /** `inner` with this cache in front, under `key` (what produced the vectors besides the texts). */
  wrap(key: string, inner: Embedder): Embedder {
    const wrapped: Embedder & { layer?: number } = {
      source: inner.source,
      dim: inner.dim,
      embed: async (texts, onProgress) => {
        const l = this.last;
        if (l && l.key === key && l.texts.length === texts.length && l.texts.every((t, i) => t === texts[i])) {
          this.hits++;
          onProgress?.(texts.length, texts.length);
          return l.vectors.slice();
        }
        const v = await inner.embed(texts, onProgress);
        this.last = { key, texts: texts.slice(), vectors: v.slice() };
        return v;
      },
    };
    if ('layer' in inner) wrapped.layer = (inner as { layer: number }).layer;
    return wrapped;
  }

  clear(): void {
    this.last = null;
  }
}

/** The text an instance is embedded by: its prompt (a text row: its text). */
export function embeddingText(ex: Example): string {
  return ex.prompt || ex.answer;
}

/** Rows scaled to unit length in place (a zero row stays zero). */
export function l2normalise(v: Float32Array, d: number): Float32Array {
  for (let i = 0; i < v.length; i += d) {
    let s = 0;
    for (let j = 0; j < d; j++) s += v[i + j] * v[i + j];
    const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
    for (let j = 0; j < d; j++) v[i + j] *= inv;
  }
  return v;
}

/** The frozen base model's mean-pooled hidden states after block `layer` (default: the middle block). */
export class ModelEmbedder implements Embedder {
  readonly source = 'model' as const;
  readonly dim: number;
  readonly layer: number;

  constructor(private readonly model: GpuModel, private readonly tok: TextTokenizer, layer?: number) {
    const L = model.layout.blocks.length;
    this.layer = layer ?? Math.floor(L / 2);
    if (!(Number.isInteger(this.layer) && this.layer >= 0 && this.layer <= L)) throw new RangeError(`the embedding layer must be a block index 0–${L - 1} (or ${L} for the final states), got ${layer}`);
    this.dim = model.spec.hidden;
  }

  /** Token ids an embedding reads: the prompt with the tokenizer's special tokens, its start kept. */
  ids(text: string): number[] {
    const max = Math.min(EMBED_MAX_TOKENS, this.model.spec.maxPositions, this.model.plan.maxTokens);
    const ids = this.tok.encode(text, true).slice(0, max);
    return ids.length ? ids : [this.tok.eosId ?? 0];
  }

  async embed(texts: string[], onProgress?: (done: number, total: number) => void): Promise<Float32Array> {
    const out = new Float32Array(texts.length * this.dim);
    for (let i = 0; i < texts.length; i += CHUNK) {
      const chunk = texts.slice(i, i + CHUNK).map((t) => this.ids(t));
      out.set(await this.model.pooledHidden(chunk, this.layer), i * this.dim);
      onProgress?.(Math.min(i + CHUNK, texts.length), texts.length);
    }
    return l2normalise(out, this.dim);
  }
}
