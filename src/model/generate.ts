// Text generation: greedy or temperature / top-p sampling over last-position logits, fed
// token by token through the model's KV cache.
import type { GpuModel } from './gpuModel.ts';
import type { AdapterHook } from './forward.ts';
import { rng } from '../util/random.ts';

export interface SampleOptions {
  /** 0 = greedy (argmax). */
  temperature?: number;
  /** Nucleus sampling: keep the smallest set of tokens whose probability reaches topP (1 = all). */
  topP?: number;
  seed?: number;
}

export interface GenerateOptions extends SampleOptions {
  maxNewTokens: number;
  /** Stop when one of these is produced (it is not included in the output). */
  stopIds?: number[];
}

/** Picks the next token id from logits; `rand` returns uniform numbers in [0, 1). */
export function sampleToken(logits: ArrayLike<number>, opts: SampleOptions, rand: () => number): number {
  const V = logits.length;
  const temperature = opts.temperature ?? 0;
  if (temperature <= 0) {
    let best = 0;
    for (let i = 1; i < V; i++) if (logits[i] > logits[best]) best = i;
    return best;
  }
  let m = -Infinity;
  for (let i = 0; i < V; i++) m = Math.max(m, logits[i]);
  const probs = new Float64Array(V);
  let sum = 0;
  for (let i = 0; i < V; i++) sum += probs[i] = Math.exp((logits[i] - m) / temperature);
  const order = Array.from({ length: V }, (_, i) => i).sort((a, b) => probs[b] - probs[a]);
  const topP = opts.topP ?? 1;
  let kept = 0;
  let mass = 0;
  while (kept < V && (kept === 0 || mass < topP * sum)) mass += probs[order[kept++]];
  let r = rand() * mass;
  for (let i = 0; i < kept; i++) {
    r -= probs[order[i]];
    if (r <= 0) return order[i];
  }
  return order[kept - 1];
}

/**
 * Generates up to maxNewTokens after the prompt; onToken sees each new id as it comes. With
 * `adapters`, every pass (the prompt, then one token at a time through the KV cache) runs
 * through the adapter that the factory returns for its T tokens.
 */
export async function generate(model: GpuModel, promptIds: number[], opts: GenerateOptions, onToken?: (id: number) => void, adapters?: (T: number) => AdapterHook | null): Promise<number[]> {
  if (promptIds.length === 0) throw new RangeError('generate: the prompt has no tokens');
  const capacity = Math.min(model.spec.maxPositions, promptIds.length + opts.maxNewTokens);
  if (promptIds.length >= capacity) throw new RangeError(`generate: the prompt (${promptIds.length} tokens) fills the model's ${model.spec.maxPositions} positions`);
  const cache = model.createCache(capacity);
  const rand = rng(opts.seed ?? 0x5eed);
  const out: number[] = [];
  try {
    let logits = await model.nextLogits(promptIds, cache, adapters?.(promptIds.length) ?? null);
    while (out.length < opts.maxNewTokens && cache.length < capacity) {
      const id = sampleToken(logits, opts, rand);
      if (opts.stopIds?.includes(id)) break;
      out.push(id);
      onToken?.(id);
      if (cache.length >= capacity) break;
      logits = await model.nextLogits([id], cache, adapters?.(1) ?? null);
    }
    return out;
  } finally {
    model.destroyCache(cache);
  }
}
