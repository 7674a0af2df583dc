// Adapter benchmark body (browser page and Node runner), GPU buffers made once, timed as
// dispatch to completion:
//   adapter_layer:   forward + backward of one adapted layer, the frozen base matmul included;
//   adapter_own:     the adapter's own cost (adapterDeltaForward + adapterDeltaBackward: the
//                    stacked projection, routing, statistics, B, gates and their gradients,
//                    without the base x·W0ᵀ and dy·W0);
//   adapter_routing: the routing kernels alone (route forward, statistics, route backward) at
//                    E = 8, 32, 128, dense and top-k.
// Both run the routing kernels with this adapter's lanes (`new`) and, where that differs, at the
// GPU lane cap of 32 (`new32`). The one-thread-per-token kernels they replaced were measured
// against them once (BENCHMARKS.md, routing kernels; their text is in git at ad75f17).
// Statistics run over 10 groups (all tokens + nine tasks, the first bundled suite's count, kept so
// results stay comparable) with a padding mask, as in a training step.
import type { Engine } from '../src/gpu/engine.ts';
import { adapterBackward, adapterDeltaBackward, adapterDeltaForward, adapterForward, adapterSavedSizes, defaultLaneCap, ROUTING, routingKernels, type AdapterSaved, type RoutingKernels } from '../src/ops/adapter.ts';
import { adapterDims, type AdapterSpec } from '../src/reference/adapter.ts';
import { randomData } from './matmul.ts';
import { round, timeRuns, type Timing } from './timing.ts';
import type { ResultRow } from './results.mjs';

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
  const { mk, destroy } = benchBuffers(engine, T);
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
    destroy();
  }
}

/** Rows relative to LoRA r=32 (the first case), measured in one run. */
export async function benchAdapterLayers(engine: Engine, adapter: string, runs: number, T = 512, n = 576, m = 576) {
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

const GROUPS = 10;

/**
 * A benchmark's buffers: `mk` makes one (size or data) and `destroy` frees them all; `task` and
 * `mask` hold task labels (0..GROUPS-2) and a padding mask (every 10th token padding) for T tokens.
 */
function benchBuffers(engine: Engine, T: number) {
  const made: GPUBuffer[] = [];
  const mk = (label: string, v: number | Float32Array | Uint32Array) => {
    const b = engine.createBuffer(label, v);
    made.push(b);
    return b;
  };
  const task = mk('task', Uint32Array.from({ length: T }, (_, i) => (i * 7) % (GROUPS - 1)));
  const mask = mk('mask', Uint32Array.from({ length: T }, (_, i) => (i % 10 === 9 ? 0 : 1)));
  return { mk, tm: { task, mask }, destroy: () => made.forEach((b) => b.destroy()) };
}

export const OWN_CASES: Array<[string, Omit<AdapterSpec, 'T' | 'n' | 'm'>]> = [
  ['trex 4x8 dense', { method: 'trex', r1: 4, r2: 8 }],
  ['mor1e E=32 dense', { method: 'mor1e', E: 32 }],
  ['lora r=32', { method: 'lora', r: 32, alpha: 32 }],
];

/** The adapter's own forward + backward (no base matmul), with the given routing kernels. */
export async function benchAdapterOwn(engine: Engine, spec: AdapterSpec, routing: RoutingKernels, runs: number): Promise<Timing> {
  const d = adapterDims(spec);
  const { T, n, m } = spec;
  const { mk, tm, destroy } = benchBuffers(engine, T);
  try {
    const inputs = {
      x: mk('x', randomData(T * n, 1)),
      W0: mk('W0', 4),
      bias: null,
      WrA: mk('WrA', randomData((d.E + d.rA) * n, 4)),
      B: mk('B', randomData(m * d.rB, 5)),
      gates: mk('gates', new Float32Array(2)),
      s: d.gated ? mk('s', randomData(T * d.E, 6)) : null,
      task: d.E > 0 ? tm.task : null,
      mask: tm.mask,
    };
    const groups = d.E > 0 ? GROUPS : 1;
    const saved = Object.fromEntries(Object.entries(adapterSavedSizes(spec, groups)).map(([k, v]) => [k, mk(k, v * 4)])) as unknown as AdapterSaved;
    const y = mk('y', T * m * 4);
    const dy = mk('dy', randomData(T * m, 7));
    const grads = { dx: mk('dx', T * n * 4), dWrA: mk('dWrA', (d.E + d.rA) * n * 4), dB: mk('dB', m * d.rB * 4), dgates: mk('dgates', 8) };
    return await timeRuns(async () => {
      adapterDeltaForward(engine, y, saved, inputs, spec, groups, routing);
      adapterDeltaBackward(engine, grads, dy, saved, inputs, spec, routing);
      await engine.submit();
    }, { runs });
  } finally {
    destroy();
  }
}

/**
 * The routing kernels timed: the app's (lanes per device) and, where that is not already it, the
 * same kernels at the GPU lane cap of 32 (what a GPU runs).
 */
function variants(engine: Engine): Array<[string, RoutingKernels]> {
  const v: Array<[string, RoutingKernels]> = [['new', ROUTING]];
  if (defaultLaneCap(engine) !== 32) v.push(['new32', routingKernels(32)]);
  return v;
}

/** adapter_own rows, T = 512 and 2048. */
export async function benchAdapterOwnRows(engine: Engine, adapter: string, runs: number, Ts = [512, 2048], n = 576, m = 576) {
  const rows: ResultRow[] = [];
  for (const T of Ts)
    for (const [name, c] of OWN_CASES) {
      const spec = { ...c, T, n, m } as AdapterSpec;
      const row: ResultRow = { bench: 'adapter_own', shape: `${name}, n=m=${n}, T=${T}`, adapter };
      for (const [v, routing] of variants(engine)) row[`${v}_ms`] = round((await benchAdapterOwn(engine, spec, routing, runs)).medianMs, 4);
      row.lanes = adapterDims(spec).E > 0 ? `${Math.min(defaultLaneCap(engine), adapterDims(spec).E)}` : '-';
      row.runs = runs;
      row.note = `adapter forward + backward without the base matmul; statistics over ${GROUPS} groups, masked`;
      rows.push(row);
    }
  return rows;
}

export const ROUTING_CASES: Array<[string, Omit<AdapterSpec, 'T' | 'n' | 'm'>]> = [
  ['E=8 (trex 2x4) dense', { method: 'trex', r1: 2, r2: 4 }],
  ['E=8 (trex 2x4) top-2', { method: 'trex', r1: 2, r2: 4, topk: 2 }],
  ['E=32 (trex 4x8) dense', { method: 'trex', r1: 4, r2: 8 }],
  ['E=32 (trex 4x8) top-8', { method: 'trex', r1: 4, r2: 8, topk: 8 }],
  ['E=128 (trex 8x16) dense', { method: 'trex', r1: 8, r2: 16 }],
  ['E=128 (trex 8x16) top-32', { method: 'trex', r1: 8, r2: 16, topk: 32 }],
];

/** Per-call times of the three routing kernels; `reps` calls per submission. */
async function benchRoutingKernels(engine: Engine, spec: AdapterSpec, routing: RoutingKernels, runs: number, reps: number) {
  const d = adapterDims(spec);
  const { T } = spec;
  const { mk, tm, destroy } = benchBuffers(engine, T);
  try {
    const proj = mk('proj', randomData(T * (d.E + d.rA), 11));
    const s = mk('s', randomData(T * d.E, 12));
    const gates = mk('gates', Float32Array.from([0.004, -0.003]));
    const route = mk('route', T * 3 * d.E * 4), hB = mk('hB', T * d.rB * 4), top1 = mk('top1', T * 4);
    const stats = mk('stats', (GROUPS * (3 * d.E + 2) + 1) * 4);
    const dh = mk('dh', randomData(T * d.rB, 13));
    const dproj = mk('dproj', T * (d.E + d.rA) * 4), omega = mk('omega', T * 4);
    const time = async (f: () => void) => {
      const t = await timeRuns(async () => {
        for (let i = 0; i < reps; i++) f();
        await engine.submit();
      }, { runs });
      return t.medianMs / reps;
    };
    routing.forward(engine, route, hB, top1, proj, s, gates, spec);
    await engine.submit();
    return {
      fwd: await time(() => routing.forward(engine, route, hB, top1, proj, s, gates, spec)),
      stats: await time(() => routing.stats(engine, stats, route, top1, tm.task, tm.mask, spec, GROUPS)),
      bwd: await time(() => routing.backward(engine, dproj, omega, dh, proj, route, s, gates, spec)),
    };
  } finally {
    destroy();
  }
}

/** adapter_routing rows: the routing kernels alone (ms per call). */
export async function benchRoutingRows(engine: Engine, adapter: string, runs: number, Ts = [512, 2048], reps = 4) {
  const rows: ResultRow[] = [];
  for (const T of Ts)
    for (const [name, c] of ROUTING_CASES) {
      const spec = { ...c, T, n: 1, m: 1 } as AdapterSpec;
      const row: ResultRow = { bench: 'adapter_routing', shape: `${name}, T=${T}`, adapter };
      const total: Record<string, number> = {};
      for (const [v, routing] of variants(engine)) {
        const r = await benchRoutingKernels(engine, spec, routing, runs, reps);
        row[`${v}_fwd_ms`] = round(r.fwd, 4);
        row[`${v}_stats_ms`] = round(r.stats, 4);
        row[`${v}_bwd_ms`] = round(r.bwd, 4);
        total[v] = r.fwd + r.stats + r.bwd;
      }
      for (const v of Object.keys(total)) row[`${v}_total_ms`] = round(total[v], 4);
      row.runs = runs;
      row.reps = reps;
      row.note = `per call; statistics over ${GROUPS} groups, masked`;
      rows.push(row);
    }
  return rows;
}

/**
 * The adapter bench: `parts` picks adapter_layer ('layer'), adapter_own ('own'),
 * adapter_routing ('routing'); all by default. `log` sees each row as it is measured.
 */
export async function benchAdapters(engine: Engine, adapter: string, runs: number, parts: string[] = ['layer', 'own', 'routing'], log: (row: ResultRow) => void = () => {}): Promise<ResultRow[]> {
  const rows: ResultRow[] = [];
  const add = (rs: ResultRow[]) => {
    rs.forEach((r) => log(r));
    rows.push(...rs);
  };
  if (parts.includes('routing')) add(await benchRoutingRows(engine, adapter, runs));
  if (parts.includes('own')) add(await benchAdapterOwnRows(engine, adapter, runs));
  if (parts.includes('layer')) add(await benchAdapterLayers(engine, adapter, runs));
  return rows;
}
