// Launchers for shaders/rope/*: ropeForward / ropeBackward, same names and argument order as
// src/reference/rope.ts, plus the cos/sin tables (built once per model on the host, as
// Hugging Face caches them: inv_freq and the angles in f32, cos/sin taken accurately).
import { gridElements, params, type Engine } from '../gpu/engine.ts';
import type { RopeShape } from './shapes.ts';

export interface RopeTables {
  cos: GPUBuffer;
  sin: GPUBuffer;
  /** Positions covered. */
  maxPos: number;
  D: number;
}

/** cos / sin of pos · theta^(−2i/D) for pos < maxPos, i < D/2, computed like HF Llama. */
export function ropeTableData(maxPos: number, D: number, theta: number): { cos: Float32Array; sin: Float32Array } {
  if (D % 2) throw new RangeError(`rope: head dimension ${D} must be even`);
  const half = D / 2;
  const cos = new Float32Array(maxPos * half);
  const sin = new Float32Array(maxPos * half);
  for (let i = 0; i < half; i++) {
    const invFreq = Math.fround(1 / Math.fround(Math.pow(theta, Math.fround((2 * i) / D))));
    for (let t = 0; t < maxPos; t++) {
      const ang = Math.fround(t * invFreq);
      cos[t * half + i] = Math.cos(ang);
      sin[t * half + i] = Math.sin(ang);
    }
  }
  return { cos, sin };
}

export function ropeTables(engine: Engine, maxPos: number, D: number, theta: number): RopeTables {
  const { cos, sin } = ropeTableData(maxPos, D, theta);
  return { cos: engine.createBuffer('rope.cos', cos), sin: engine.createBuffer('rope.sin', sin), maxPos, D };
}

function rotate(engine: Engine, out: GPUBuffer, x: GPUBuffer, tables: RopeTables, s: RopeShape, inverse: boolean): void {
  const pos0 = s.pos0 ?? 0;
  if (tables.D !== s.D) throw new RangeError(`rope: tables are for head dimension ${tables.D}, not ${s.D}`);
  if (pos0 + s.T > tables.maxPos) throw new RangeError(`rope: positions up to ${pos0 + s.T} exceed the table's ${tables.maxPos}`);
  const rows = s.B * s.T * s.H;
  engine.dispatch(engine.kernel('rope/rope_forward', { INVERSE: inverse }), {
    bindings: [out, x, tables.cos, tables.sin],
    params: params({ rows, T: s.T, H: s.H, D: s.D, pos0, pad0: 0, pad1: 0, pad2: 0 }),
    workgroups: gridElements((rows * s.D) / 2),
  });
}

export function ropeForward(engine: Engine, out: GPUBuffer, x: GPUBuffer, tables: RopeTables, s: RopeShape): void {
  rotate(engine, out, x, tables, s, false);
}

export function ropeBackward(engine: Engine, dx: GPUBuffer, dout: GPUBuffer, tables: RopeTables, s: RopeShape): void {
  rotate(engine, dx, dout, tables, s, true);
}
