// Launchers for shaders/reduce/*: reduceSum (sum, sum of squares, norm, mean) over one or more
// tensors in two stages, with no float atomics. Same name and order as src/reference/optim.ts.
import { gridFor, params, type Engine } from '../gpu/engine.ts';
import type { ReduceOptions } from './shapes.ts';

export interface TensorRef {
  buffer: GPUBuffer;
  /** Elements to include (from the start of the buffer). */
  n: number;
}

const CHUNK = 4096;

/** out[index] = scale · (sqrt?)(Σ x or x² over all tensors), assigned. */
export function reduceSum(engine: Engine, out: GPUBuffer, tensors: TensorRef[], opts: ReduceOptions & { index?: number } = {}): void {
  const slots = tensors.reduce((a, t) => a + Math.ceil(t.n / CHUNK), 0);
  const partials = engine.scratch('reduce.partials', Math.max(1, slots) * 4);
  let slot0 = 0;
  const partial = engine.kernel('reduce/reduce_partial', { SQUARE: opts.square ?? false });
  for (const t of tensors) {
    const groups = Math.ceil(t.n / CHUNK);
    if (groups === 0) continue;
    engine.dispatch(partial, {
      bindings: [partials, t.buffer],
      params: params({ n: t.n, chunk: CHUNK, slot0, pad: 0 }),
      workgroups: gridFor(groups),
    });
    slot0 += groups;
  }
  engine.dispatch(engine.kernel('reduce/reduce_final', { SQRT: opts.sqrt ?? false }), {
    bindings: [out, partials],
    params: params({ count: slots, index: opts.index ?? 0, scale: opts.scale ?? 1, pad: 0 }, ['scale']),
    workgroups: [1],
  });
}
