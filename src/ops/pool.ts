// Launcher for shaders/pool/*: meanPoolForward, same name and argument order as
// src/reference/pool.ts (plus the engine first). Forward only: sentence embeddings are not
// trained through.
import { gridFor, params, type Engine } from '../gpu/engine.ts';
import type { PoolShape } from './shapes.ts';

/** out (B, C) = mean of x (B, T, C) over the rows mask (B, T) u32 keeps, L2-normalised unless normalize = false. */
export function meanPoolForward(engine: Engine, out: GPUBuffer, x: GPUBuffer, mask: GPUBuffer, s: PoolShape, normalize = true): void {
  engine.dispatch(engine.kernel('pool/mean_pool_forward', { NORMALIZE: normalize }), {
    bindings: [out, x, mask],
    params: params({ B: s.B, T: s.T, C: s.C, pad: 0 }),
    workgroups: gridFor(s.B),
  });
}
