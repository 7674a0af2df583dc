// Runs one adapted layer's forward and backward through the real WGSL kernels from host arrays
// (the dev/test API window.mor1e.adapterLayer and the adapter benchmark). Checks every tensor's
// length against the spec first and names the one that is wrong.
import type { Engine } from '../gpu/engine.ts';
import { adapterBackward, adapterForward, adapterSavedSizes, type AdapterSaved } from '../ops/adapter.ts';
import { adapterDims, type AdapterSpec } from './spec.ts';

export interface AdapterLayerTensors {
  x: Float32Array;
  W0: Float32Array;
  bias?: Float32Array | null;
  A: Float32Array;
  B: Float32Array;
  Wr?: Float32Array | null;
  wOmega?: Float32Array | null;
  wBeta?: Float32Array | null;
  /** Intuition scores: (T, E), or (T, k) when spec.k ≠ E (a mapper). */
  s?: Float32Array | null;
  /** The mapper (E, k), required when spec.k ≠ E: routing reads s_E = M s_k. */
  M?: Float32Array | null;
  /**
   * (T) padding mask, 1 = real token, 0 = padding; absent or null = every token is real. The
   * router statistics (entropy, balance) and the regulariser gradients average over the real
   * tokens only.
   */
  mask?: Float32Array | null;
  dy: Float32Array;
}

export interface AdapterLayerResult {
  y: Float32Array;
  dx: Float32Array;
  dA: Float32Array;
  dB: Float32Array;
  dWr?: Float32Array;
  dwOmega?: Float32Array;
  dwBeta?: Float32Array;
  /** (E, k) with a mapper. */
  dM?: Float32Array;
  entropy?: number;
  balance?: number;
}

function check(spec: AdapterSpec, t: AdapterLayerTensors): void {
  const d = adapterDims(spec);
  const { T, n, m } = spec;
  const want: Array<[string, Float32Array | null | undefined, number, boolean]> = [
    ['x', t.x, T * n, true],
    ['W0', t.W0, m * n, true],
    ['bias', t.bias, m, false],
    ['A', t.A, d.rA * n, true],
    ['B', t.B, m * d.rB, true],
    ['Wr', t.Wr, d.E * n, d.E > 0],
    ['wOmega', t.wOmega, 1, d.gated],
    ['wBeta', t.wBeta, 1, d.gated],
    ['s', t.s, T * d.k, d.gated],
    ['M', t.M, d.E * d.k, d.mapper],
    ['mask', t.mask, T, false],
    ['dy', t.dy, T * m, true],
  ];
  for (const [name, arr, len, required] of want) {
    if (!arr) {
      if (required) throw new Error(`adapterLayer(${spec.method}): missing tensor "${name}" (${len} values)`);
      continue;
    }
    if (arr.length !== len) throw new Error(`adapterLayer(${spec.method}): tensor "${name}" has ${arr.length} values, the spec needs ${len}`);
  }
  const bad = t.mask?.findIndex((v) => v !== 0 && v !== 1) ?? -1;
  if (bad >= 0) throw new Error(`adapterLayer(${spec.method}): mask[${bad}] = ${t.mask![bad]} must be 0 (padding) or 1 (real token)`);
}

export async function runAdapterLayer(engine: Engine, spec: AdapterSpec, t: AdapterLayerTensors): Promise<AdapterLayerResult> {
  check(spec, t);
  const d = adapterDims(spec);
  const { T, n, m } = spec;
  const WrA = new Float32Array((d.E + d.rA) * n);
  if (t.Wr) WrA.set(t.Wr);
  WrA.set(t.A, d.E * n);
  const made: GPUBuffer[] = [];
  const buf = (label: string, data: number | Float32Array | Uint32Array) => {
    const b = engine.createBuffer(label, data);
    made.push(b);
    return b;
  };
  try {
    const inputs = {
      x: buf('adapter.x', t.x),
      W0: buf('adapter.W0', t.W0),
      bias: t.bias ? buf('adapter.bias', t.bias) : null,
      WrA: buf('adapter.WrA', WrA),
      B: buf('adapter.B', t.B),
      gates: buf('adapter.gates', Float32Array.from([t.wOmega?.[0] ?? 0, t.wBeta?.[0] ?? 0])),
      s: t.s ? buf('adapter.s', t.s) : null,
      M: d.mapper ? buf('adapter.M', t.M!) : null,
      task: null,
      mask: t.mask ? buf('adapter.mask', Uint32Array.from(t.mask)) : null,
    };
    const sizes = adapterSavedSizes(spec);
    const saved = Object.fromEntries(Object.entries(sizes).map(([k, v]) => [k, buf(`adapter.${k}`, v * 4)])) as unknown as AdapterSaved;
    const y = buf('adapter.y', T * m * 4);
    const grads = {
      dx: buf('adapter.dx', T * n * 4), dWrA: buf('adapter.dWrA', WrA.length * 4), dB: buf('adapter.dB', m * d.rB * 4), dgates: buf('adapter.dgates', 8),
      dM: d.mapper ? buf('adapter.dM', d.E * d.k * 4) : null,
    };
    // Poison what the kernels assign, so an element they never write shows up as NaN.
    for (const b of [y, grads.dx, saved.proj, saved.hB, ...(saved.delta ? [saved.delta] : []), ...(saved.sE ? [saved.sE] : [])]) engine.fill(b, NaN);
    const dy = buf('adapter.dy', t.dy);
    adapterForward(engine, y, saved, inputs, spec);
    adapterBackward(engine, grads, dy, saved, inputs, spec);
    const [yv, dx, dWrA, dB, dg, stats, dM] = await Promise.all([
      engine.read(y), engine.read(grads.dx), engine.read(grads.dWrA), engine.read(grads.dB), engine.read(grads.dgates), engine.read(saved.stats),
      grads.dM ? engine.read(grads.dM) : null,
    ]);
    const out: AdapterLayerResult = { y: yv.slice(), dx: dx.slice(), dA: dWrA.slice(d.E * n), dB: dB.slice() };
    if (d.E > 0) out.dWr = dWrA.slice(0, d.E * n);
    if (d.gated) {
      out.dwOmega = dg.slice(0, 1);
      out.dwBeta = dg.slice(1, 2);
      out.entropy = stats[3 * d.E];
      out.balance = stats[3 * d.E + 2];
    }
    if (dM) out.dM = dM.slice();
    return out;
  } finally {
    await engine.submit();
    for (const b of made) b.destroy();
  }
}
