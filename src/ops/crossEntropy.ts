// Launchers for shaders/cross_entropy/*: crossEntropyForward and the fused backward, same
// names and argument order as src/reference/crossEntropy.ts, except that the backward
// overwrites the logits with dlogits in place (one V-wide buffer, not two).
import { gridFor, params, type Engine } from '../gpu/engine.ts';
import type { CrossEntropyShape } from './shapes.ts';

function run(engine: Engine, losses: GPUBuffer, logits: GPUBuffer, targets: GPUBuffer, s: CrossEntropyShape, grad: boolean): void {
  engine.dispatch(engine.kernel('cross_entropy/cross_entropy_forward', { WRITE_GRAD: grad }), {
    bindings: [losses, logits, targets],
    params: params({ N: s.N, V: s.V, invCount: s.count > 0 ? 1 / s.count : 0, pad: 0 }, ['invCount']),
    workgroups: gridFor(s.N),
  });
}

/** losses (N) assigned; targets is an i32 buffer, < 0 = masked. */
export function crossEntropyForward(engine: Engine, losses: GPUBuffer, logits: GPUBuffer, targets: GPUBuffer, s: CrossEntropyShape): void {
  run(engine, losses, logits, targets, s, false);
}

/** losses assigned, and `logits` overwritten by dlogits = (softmax − onehot) / count. */
export function crossEntropyBackward(engine: Engine, dlogitsInPlace: GPUBuffer, losses: GPUBuffer, targets: GPUBuffer, s: CrossEntropyShape): void {
  run(engine, losses, dlogitsInPlace, targets, s, true);
}
