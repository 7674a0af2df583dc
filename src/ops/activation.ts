// Launchers for shaders/activation/*: GELU (tanh), exact GELU (erf), SiLU, SwiGLU, forward and
// backward, same names and argument order as src/reference/activation.ts.
import { gridElements, params, type Engine } from '../gpu/engine.ts';

const GELU = 0;
const SILU = 1;
const GELU_ERF = 2;

function fwd(engine: Engine, kind: number, out: GPUBuffer, x: GPUBuffer, n: number): void {
  engine.dispatch(engine.kernel('activation/activation_forward', { KIND: kind }), {
    bindings: [out, x],
    params: params({ n, pad0: 0, pad1: 0, pad2: 0 }),
    workgroups: gridElements(n),
  });
}

function bwd(engine: Engine, kind: number, dx: GPUBuffer, dout: GPUBuffer, x: GPUBuffer, n: number, accumulate: boolean): void {
  engine.dispatch(engine.kernel('activation/activation_backward', { KIND: kind, ACCUMULATE: accumulate }), {
    bindings: [dx, dout, x],
    params: params({ n, pad0: 0, pad1: 0, pad2: 0 }),
    workgroups: gridElements(n),
  });
}

export const geluForward = (engine: Engine, out: GPUBuffer, x: GPUBuffer, n: number) => fwd(engine, GELU, out, x, n);
export const geluBackward = (engine: Engine, dx: GPUBuffer, dout: GPUBuffer, x: GPUBuffer, n: number, accumulate = false) => bwd(engine, GELU, dx, dout, x, n, accumulate);
export const geluErfForward = (engine: Engine, out: GPUBuffer, x: GPUBuffer, n: number) => fwd(engine, GELU_ERF, out, x, n);
export const geluErfBackward = (engine: Engine, dx: GPUBuffer, dout: GPUBuffer, x: GPUBuffer, n: number, accumulate = false) => bwd(engine, GELU_ERF, dx, dout, x, n, accumulate);
export const siluForward = (engine: Engine, out: GPUBuffer, x: GPUBuffer, n: number) => fwd(engine, SILU, out, x, n);
export const siluBackward = (engine: Engine, dx: GPUBuffer, dout: GPUBuffer, x: GPUBuffer, n: number, accumulate = false) => bwd(engine, SILU, dx, dout, x, n, accumulate);

export function swigluForward(engine: Engine, out: GPUBuffer, gate: GPUBuffer, up: GPUBuffer, n: number): void {
  engine.dispatch(engine.kernel('activation/swiglu_forward'), {
    bindings: [out, gate, up],
    params: params({ n, pad0: 0, pad1: 0, pad2: 0 }),
    workgroups: gridElements(n),
  });
}

export function swigluBackward(engine: Engine, dgate: GPUBuffer, dup: GPUBuffer, dout: GPUBuffer, gate: GPUBuffer, up: GPUBuffer, n: number): void {
  engine.dispatch(engine.kernel('activation/swiglu_backward'), {
    bindings: [dgate, dup, dout, gate, up],
    params: params({ n, pad0: 0, pad1: 0, pad2: 0 }),
    workgroups: gridElements(n),
  });
}
