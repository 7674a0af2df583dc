// Launchers for shaders/elementwise/*: residual add and scale, forward and backward, same names
// and argument order as src/reference/elementwise.ts.
import { gridElements, params, type Engine } from '../gpu/engine.ts';

export function addForward(engine: Engine, out: GPUBuffer, a: GPUBuffer, b: GPUBuffer, n: number): void {
  engine.dispatch(engine.kernel('elementwise/add_forward'), {
    bindings: [out, a, b],
    params: params({ n, pad0: 0, pad1: 0, pad2: 0 }),
    workgroups: gridElements(n),
  });
}

/** out (=|+=) alpha · x. */
export function scaleForward(engine: Engine, out: GPUBuffer, x: GPUBuffer, alpha: number, n: number, accumulate = false): void {
  engine.dispatch(engine.kernel('elementwise/scale_forward', { ACCUMULATE: accumulate }), {
    bindings: [out, x],
    params: params({ n, alpha, pad0: 0, pad1: 0 }, ['alpha']),
    workgroups: gridElements(n),
  });
}

export function scaleBackward(engine: Engine, dx: GPUBuffer, dout: GPUBuffer, alpha: number, n: number, accumulate = false): void {
  scaleForward(engine, dx, dout, alpha, n, accumulate);
}

/** da += dout; db += dout. */
export function addBackward(engine: Engine, da: GPUBuffer, db: GPUBuffer, dout: GPUBuffer, n: number): void {
  scaleForward(engine, da, dout, 1, n, true);
  scaleForward(engine, db, dout, 1, n, true);
}
