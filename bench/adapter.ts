// Adapter benchmark body (browser page and Node runner): forward + backward of one adapted
// layer through the real kernels, GPU buffers made once, timed as dispatch to completion.
import type { Engine } from '../src/gpu/engine.ts';
import { adapterBackward, adapterForward, adapterSavedSizes, type AdapterSaved } from '../src/ops/adapter.ts';
import { adapterDims, type AdapterSpec } from '../src/reference/adapter.ts';
import { randomData } from './matmul.ts';
import { round, timeRuns, type Timing } from './timing.ts';

export const ADAPTER_CASES: Array<[string, Omit<AdapterSpec, 'T' | 'n' | 'm'>]> = [
  ['lora r=32', { method: 'lora', r: 32, alpha: 32 }],
  ['molora r=32', { method: 'molora', r: 32 }],
  ['mor1e E=32', { method: 'mor1e', E: 32 }],
  ['trex 4x8 dense', { method: 'trex', r1: 4, r2: 8 }],
  ['trex 4x8 top-4', { method: 'trex', r1: 4, r2: 8, topk: 4 }],
  ['trex 2x4 (E=8) dense', { method: 'trex', r1: 2, r2: 4 }],
  ['trex 8x16 (E=128) dense', { method: 'trex', r1: 8, r2: 16 }],
];

export async function benchAdapterLayer(engine: Engine, spec: AdapterSpec, runs: number): Promise<Timing> {
  const d = adapterDims(spec);
  const { T, n, m } = spec;
  const made: GPUBuffer[] = [];
  const mk = (label: string, v: number | Float32Array) => {
    const b = engine.createBuffer(label, v);
    made.push(b);
    return b;
  };
  try {
    const inputs = {
      x: mk('x', randomData(T * n, 1)),
      W0: mk('W0', randomData(m * n, 2)),
      bias: mk('bias', randomData(m, 3)),
      WrA: mk('WrA', randomData((d.E + d.rA) * n, 4)),
      B: mk('B', randomData(m * d.rB, 5)),
      gates: mk('gates', new Float32Array(2)),
      s: d.gated ? mk('s', randomData(T * d.E, 6)) : null,
      task: null,
    };
    const saved = Object.fromEntries(Object.entries(adapterSavedSizes(spec)).map(([k, v]) => [k, mk(k, v * 4)])) as unknown as AdapterSaved;
    const y = mk('y', T * m * 4);
    const dy = mk('dy', randomData(T * m, 7));
    const grads = { dx: mk('dx', T * n * 4), dWrA: mk('dWrA', (d.E + d.rA) * n * 4), dB: mk('dB', m * d.rB * 4), dgates: mk('dgates', 8) };
    return await timeRuns(async () => {
      adapterForward(engine, y, saved, inputs, spec);
      adapterBackward(engine, grads, dy, saved, inputs, spec);
      await engine.submit();
    }, { runs });
  } finally {
    for (const b of made) b.destroy();
  }
}

/** Rows relative to LoRA r=32 (the first case), measured in one run. */
export async function benchAdapters(engine: Engine, adapter: string, runs: number, T = 512, n = 576, m = 576) {
  const rows = [];
  let lora = 0;
  for (const [name, c] of ADAPTER_CASES) {
    const spec = { ...c, T, n, m } as AdapterSpec;
    const t = await benchAdapterLayer(engine, spec, runs);
    if (!lora) lora = t.medianMs;
    rows.push({
      bench: 'adapter_layer', shape: `${name}, n=m=${n}, T=${T}`, adapter,
      fwd_bwd_ms: round(t.medianMs, 4), vs_lora: round(t.medianMs / lora), runs,
      note: 'forward + backward of one adapted layer, base matmul included',
    });
  }
  return rows;
}
