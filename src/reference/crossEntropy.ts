// Float64 reference for shaders/cross_entropy/*: softmax + cross-entropy over the vocabulary
// per token, with a mask (target < 0: prompt or padding, ignored), the loss being the mean
// over the `count` unmasked tokens. Same names and argument order as src/ops/crossEntropy.ts.
import type { CrossEntropyShape } from '../ops/shapes.ts';
export type { CrossEntropyShape };

type Arr = Float64Array | Float32Array;

/** Counts targets ≥ 0, checking each is inside the vocabulary. */
export function countTargets(targets: ArrayLike<number>, N: number, V: number): number {
  let n = 0;
  for (let r = 0; r < N; r++) {
    const t = targets[r];
    if (t >= V) throw new RangeError(`cross-entropy: target ${t} at token ${r} is outside the vocabulary [0, ${V})`);
    if (t >= 0) n++;
  }
  return n;
}

function check(targets: ArrayLike<number>, s: CrossEntropyShape): void {
  const n = countTargets(targets, s.N, s.V);
  if (n !== s.count) throw new RangeError(`cross-entropy: count ${s.count} but ${n} targets are unmasked`);
}

function lse(logits: Arr, o: number, V: number): number {
  let m = -Infinity;
  for (let i = 0; i < V; i++) m = Math.max(m, logits[o + i]);
  let l = 0;
  for (let i = 0; i < V; i++) l += Math.exp(logits[o + i] - m);
  return m + Math.log(l);
}

/** losses[r] = logsumexp(logits[r]) − logits[r][target] (0 where masked); returns the mean loss. */
export function crossEntropyForward(losses: Arr, logits: Arr, targets: ArrayLike<number>, s: CrossEntropyShape): number {
  check(targets, s);
  let total = 0;
  for (let r = 0; r < s.N; r++) {
    const t = targets[r];
    losses[r] = t < 0 ? 0 : lse(logits, r * s.V, s.V) - logits[r * s.V + t];
    total += losses[r];
  }
  return s.count ? total / s.count : 0;
}

/** Also dlogits = (softmax − onehot) / count on unmasked rows, 0 on masked rows (assigned). */
export function crossEntropyBackward(dlogits: Arr, losses: Arr, logits: Arr, targets: ArrayLike<number>, s: CrossEntropyShape): number {
  const mean = crossEntropyForward(losses, logits, targets, s);
  for (let r = 0; r < s.N; r++) {
    const t = targets[r];
    const o = r * s.V;
    const L = t < 0 ? 0 : lse(logits, o, s.V);
    for (let i = 0; i < s.V; i++) dlogits[o + i] = t < 0 ? 0 : (Math.exp(logits[o + i] - L) - (i === t ? 1 : 0)) / s.count;
  }
  return mean;
}
