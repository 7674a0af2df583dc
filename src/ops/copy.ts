// Launchers for shaders/copy/copy_rows.wgsl (forward, and backward with the layouts swapped),
// same names and argument order as src/reference/copy.ts.
import { gridElements, params, type Engine } from '../gpu/engine.ts';
import type { CopyRowsShape } from './shapes.ts';

interface Side {
  rows: number;
  r0: number;
  stride: number;
  offset: number;
}

function run(engine: Engine, out: GPUBuffer, x: GPUBuffer, s: CopyRowsShape, src: Side, dst: Side): void {
  if (s.r0 + s.T > s.outRows) throw new RangeError(`copyRows: rows ${s.r0}..${s.r0 + s.T} exceed the destination's ${s.outRows}`);
  engine.dispatch(engine.kernel('copy/copy_rows'), {
    bindings: [out, x],
    params: params({
      B: s.B, T: s.T, width: s.width, inS: src.stride, inO: src.offset, inRows: src.rows, inR0: src.r0,
      outRows: dst.rows, outR0: dst.r0, outS: dst.stride, outO: dst.offset, pad: 0,
    }),
    workgroups: gridElements(s.B * s.T * s.width),
  });
}

const sides = (s: CopyRowsShape): [Side, Side] => [
  { rows: s.T, r0: 0, stride: s.inStride, offset: s.inOffset },
  { rows: s.outRows, r0: s.r0, stride: s.outStride, offset: s.outOffset },
];

export function copyRows(engine: Engine, out: GPUBuffer, x: GPUBuffer, s: CopyRowsShape): void {
  const [src, dst] = sides(s);
  run(engine, out, x, s, src, dst);
}

/** dx (=) the gradient gathered back from the destination rows into the source's layout. */
export function copyRowsBackward(engine: Engine, dx: GPUBuffer, dout: GPUBuffer, s: CopyRowsShape): void {
  const [src, dst] = sides(s);
  run(engine, dx, dout, s, dst, src);
}
