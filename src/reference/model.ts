// Float64 reference forward of GPT-2 and Llama-family models: the shared block schedule on the
// float64 reference ops (llm.c's train_gpt2.c, in TypeScript): the GPU model must match it, and
// it must match the PyTorch golden logits of scripts/make_test_models.py.
import type { ModelSpec } from '../model/config.ts';
import { modelLayout } from '../model/layout.ts';
import { blocksForward } from '../model/schedule.ts';
import { embeddingForward } from './embedding.ts';
import { matmulForward } from './matmul.ts';
import { ReferencePass, type Weights } from './pass.ts';

export type { Weights };

/** Logits (T, V) for one sequence of token ids. */
export function referenceForward(spec: ModelSpec, weights: Weights, ids: number[]): Float64Array {
  const L = modelLayout(spec);
  const xf = referenceHidden(spec, weights, ids, L.blocks.length);
  const head = weights.get(L.head);
  if (!head) throw new Error(`reference forward: missing weight ${L.head}`);
  const logits = new Float64Array(ids.length * spec.vocabSize);
  matmulForward(logits, xf, head, null, { M: ids.length, N: spec.vocabSize, K: spec.hidden, transB: true });
  return logits;
}

/**
 * Hidden states (T, C) of one sequence: the residual stream after block `layer` (0-based), or
 * the final normed states when `layer` is the block count (what the LM head reads). The shared
 * block schedule (src/model/schedule.ts) on the float64 ops.
 */
export function referenceHidden(spec: ModelSpec, weights: Weights, ids: number[], layer: number): Float64Array {
  const L = modelLayout(spec);
  if (!(Number.isInteger(layer) && layer >= 0 && layer <= L.blocks.length)) throw new RangeError(`reference hidden: layer must be in [0, ${L.blocks.length}], got ${layer}`);
  const pass = new ReferencePass(spec, weights, 1, ids.length);
  const x0 = new Float64Array(ids.length * spec.hidden);
  embeddingForward(x0, ids, pass.W(L.embed), L.pos ? pass.W(L.pos) : null, { B: 1, T: ids.length, C: spec.hidden, V: spec.vocabSize });
  const { x } = blocksForward(L, x0, pass, { until: layer < L.blocks.length ? layer : undefined });
  return layer < L.blocks.length ? x : pass.norm(x, L.finalNorm).y;
}
