// Launcher for shaders/copy/copy_rows.wgsl, same name and argument order as src/reference/copy.ts.
import { gridElements, params, type Engine } from '../gpu/engine.ts';
import type { CopyRowsShape } from '../reference/copy.ts';

export function copyRows(engine: Engine, out: GPUBuffer, x: GPUBuffer, s: CopyRowsShape): void {
  if (s.r0 + s.T > s.outRows) throw new RangeError(`copyRows: rows ${s.r0}..${s.r0 + s.T} exceed the destination's ${s.outRows}`);
  engine.dispatch(engine.kernel('copy/copy_rows'), {
    bindings: [out, x],
    params: params({
      B: s.B, T: s.T, width: s.width, inS: s.inStride, inO: s.inOffset, outRows: s.outRows, r0: s.r0, outS: s.outStride, outO: s.outOffset, pad0: 0, pad1: 0, pad2: 0,
    }),
    workgroups: gridElements(s.B * s.T * s.width),
  });
}
