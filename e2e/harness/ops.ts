// The launchers the GPU parity specs can call by name, with buffers by role. Each entry is a
// thin adapter from named buffers + args to the real launcher in src/ops/.
/* eslint-disable @typescript-eslint/no-explicit-any -- args arrive as JSON from the spec */
import type { Engine } from '../../src/gpu/engine.ts';
import * as mm from '../../src/ops/matmul.ts';
import * as emb from '../../src/ops/embedding.ts';
import * as norm from '../../src/ops/norm.ts';
import * as act from '../../src/ops/activation.ts';
import * as ew from '../../src/ops/elementwise.ts';
import * as rope from '../../src/ops/rope.ts';
import * as attn from '../../src/ops/attention.ts';
import * as ce from '../../src/ops/crossEntropy.ts';
import * as red from '../../src/ops/reduce.ts';
import * as opt from '../../src/ops/optim.ts';
import * as copy from '../../src/ops/copy.ts';
import * as adapter from '../../src/ops/adapter.ts';
import * as pool from '../../src/ops/pool.ts';
import * as km from '../../src/ops/kmeans.ts';

export type Buffers = Record<string, GPUBuffer>;
type Op = (e: Engine, b: Buffers, a: any) => void;

/** Runs `fn` with matmulTuning fields from the call's args (e.g. the skinny kernel's K split), then restores them. */
function withMatmulTuning(tuning: Partial<typeof mm.matmulTuning> | undefined, fn: () => void): void {
  const saved = { ...mm.matmulTuning };
  Object.assign(mm.matmulTuning, tuning ?? {});
  try {
    fn();
  } finally {
    Object.assign(mm.matmulTuning, saved);
  }
}

const ropeTables = (e: Engine, a: any) => rope.ropeTables(e, (a.shape.pos0 ?? 0) + a.shape.T, a.shape.D, a.theta);

/**
 * The op with a module-wide tuning knob set from its args (`a[arg]`, absent: `auto`, the device's
 * choice) while it records, as kernels are picked then; the knob is reset afterwards.
 */
function tuned<T extends object, K extends keyof T>(knob: T, key: K, arg: string, auto: T[K], op: Op): Op {
  return (e, b, a) => {
    knob[key] = a[arg] ?? auto;
    try {
      op(e, b, a);
    } finally {
      knob[key] = auto;
    }
  };
}
const normLanes = (op: Op) => tuned(norm.normTuning, 'lanes', 'lanes', 0, op);
const attentionSplit = (op: Op) => tuned(attn.attentionTuning, 'split', 'split', 'auto', op);

/** The whole adapted layer, forward then backward, at a forced lane cap (a.laneCap; absent = the device's). */
const adapterLayerRun: Op = (e, b, a) => {
  const routing = adapter.routingKernels(a.laneCap);
  const saved = { proj: b.proj, route: b.route, hB: b.hB, top1: b.top1, delta: b.delta, stats: b.stats, ...(b.sE ? { sE: b.sE } : {}) };
  const inp = { x: b.x, W0: b.W0, bias: b.bias ?? null, WrA: b.WrA, B: b.B, gates: b.gates, s: b.s ?? null, M: b.M ?? null, task: b.task ?? null, mask: b.mask ?? null };
  adapter.adapterForward(e, b.y, saved, inp, a.spec, a.groups ?? 1, false, routing);
  adapter.adapterBackward(e, { dx: b.dx, dWrA: b.dWrA, dB: b.dB, dgates: b.dgates, dM: b.dM ?? null }, b.dy, saved, inp, a.spec, false, routing);
};

export const OPS: Record<string, Op> = {
  matmulForward: (e, b, a) => withMatmulTuning(a.tuning, () => mm.matmulForward(e, b.C, b.A, b.B, b.bias ?? null, a.shape, a.accumulate, a.variant)),
  matmulBackwardInput: (e, b, a) => withMatmulTuning(a.tuning, () => mm.matmulBackwardInput(e, b.dA, b.dC, b.B, a.shape, a.accumulate)),
  matmulBackwardWeight: (e, b, a) => mm.matmulBackwardWeight(e, b.dB, b.A, b.dC, a.shape, a.accumulate),
  matmulBackwardBias: (e, b, a) => mm.matmulBackwardBias(e, b.dbias, b.dC, a.shape),

  embeddingForward: (e, b, a) => emb.embeddingForward(e, b.out, b.ids, b.wte, b.wpe ?? null, a.shape),
  embeddingBackward: (e, b, a) => emb.embeddingBackward(e, b.dwte, b.dwpe ?? null, b.dout, a.ids, a.shape),

  // a.lanes forces the norms' threads per row (absent: the device's).
  layernormForward: normLanes((e, b, a) => norm.layernormForward(e, b.out, b.mean, b.rstd, b.x, b.w, b.b, a.shape)),
  layernormBackward: normLanes((e, b, a) => norm.layernormBackward(e, b.dx, b.dw, b.db, b.dout, b.x, b.w, b.mean, b.rstd, a.shape, a.accumulate)),
  rmsnormForward: normLanes((e, b, a) => norm.rmsnormForward(e, b.out, b.rstd, b.x, b.w, a.shape)),
  rmsnormBackward: normLanes((e, b, a) => norm.rmsnormBackward(e, b.dx, b.dw, b.dout, b.x, b.w, b.rstd, a.shape, a.accumulate)),

  geluForward: (e, b, a) => act.geluForward(e, b.out, b.x, a.n),
  geluBackward: (e, b, a) => act.geluBackward(e, b.dx, b.dout, b.x, a.n, a.accumulate),
  geluErfForward: (e, b, a) => act.geluErfForward(e, b.out, b.x, a.n),
  geluErfBackward: (e, b, a) => act.geluErfBackward(e, b.dx, b.dout, b.x, a.n, a.accumulate),
  meanPoolForward: (e, b, a) => pool.meanPoolForward(e, b.out, b.x, b.mask, a.shape, a.normalize),
  siluForward: (e, b, a) => act.siluForward(e, b.out, b.x, a.n),
  siluBackward: (e, b, a) => act.siluBackward(e, b.dx, b.dout, b.x, a.n, a.accumulate),
  swigluForward: (e, b, a) => act.swigluForward(e, b.out, b.gate, b.up, a.n),
  swigluBackward: (e, b, a) => act.swigluBackward(e, b.dgate, b.dup, b.dout, b.gate, b.up, a.n),

  addForward: (e, b, a) => ew.addForward(e, b.out, b.a, b.b, a.n),
  addBackward: (e, b, a) => ew.addBackward(e, b.da, b.db, b.dout, a.n),
  scaleForward: (e, b, a) => ew.scaleForward(e, b.out, b.x, a.alpha, a.n, a.accumulate),
  scaleBackward: (e, b, a) => ew.scaleBackward(e, b.dx, b.dout, a.alpha, a.n, a.accumulate),

  ropeForward: (e, b, a) => rope.ropeForward(e, b.out, b.x, ropeTables(e, a), { ...a.shape, theta: a.theta }),
  ropeBackward: (e, b, a) => rope.ropeBackward(e, b.dx, b.dout, ropeTables(e, a), { ...a.shape, theta: a.theta }),

  // a.split forces the attention kernels' work split ('workgroup' | 'rows'; absent: the device's).
  attentionForward: attentionSplit((e, b, a) => attn.attentionForward(e, b.out, b.lse, b.q, b.k ?? b.q, b.v ?? b.q, a.shape, b.keyMask ?? null)),
  attentionBackward: attentionSplit((e, b, a) =>
    attn.attentionBackward(e, b.dq, b.dk ?? b.dq, b.dv ?? b.dq, b.dout, b.q, b.k ?? b.q, b.v ?? b.q, b.out, b.lse, a.shape)),

  crossEntropyForward: (e, b, a) => ce.crossEntropyForward(e, b.losses, b.logits, b.targets, a.shape),
  crossEntropyBackward: (e, b, a) => ce.crossEntropyBackward(e, b.logits, b.losses, b.targets, a.shape),

  reduceSum: (e, b, a) => red.reduceSum(e, b.out, (a.tensors as Array<{ name: string; n: number }>).map((t) => ({ buffer: b[t.name], n: t.n })), a.opts),
  copyRows: (e, b, a) => copy.copyRows(e, b.out, b.x, a.shape),
  copyRowsBackward: (e, b, a) => copy.copyRowsBackward(e, b.dx, b.dout, a.shape),
  adapterForward: (e, b, a) =>
    adapter.adapterForward(
      e, b.y, { proj: b.proj, route: b.route, hB: b.hB, top1: b.top1, delta: b.delta, stats: b.stats, ...(b.sE ? { sE: b.sE } : {}) },
      { x: b.x, W0: b.W0, bias: null, WrA: b.WrA, B: b.B, gates: b.gates, s: b.s ?? null, M: b.M ?? null, task: b.task ?? null, mask: b.mask ?? null }, a.spec, a.groups,
    ),
  adapterMapperBackward: (e, b, a) => adapter.adapterMapperBackward(e, b.dsE, b.dh, b.proj, b.route, b.gates, a.spec),
  // The routing kernels alone and the whole layer at a forced lane cap (a.laneCap; absent = the device's).
  adapterRouteForward: (e, b, a) => adapter.routingKernels(a.laneCap).forward(e, b.route, b.hB, b.top1, b.proj, b.s ?? null, b.gates, a.spec),
  adapterRouteBackward: (e, b, a) => {
    const r = adapter.routingKernels(a.laneCap);
    r.backward(e, b.dproj, b.omegaParts, b.dh, b.proj, b.route, b.s ?? null, b.gates, a.spec);
    if (b.stats) r.reg(e, b.dproj, b.route, b.stats, b.mask ?? null, a.spec);
  },
  adapterRouteStats: (e, b, a) => adapter.adapterRouteStats(e, b.stats, b.route, b.top1, b.task ?? null, b.mask ?? null, a.spec, a.groups),
  // a.gateElems forces adapter_gate_backward's elements per thread (absent: the device's).
  adapterLayer: tuned(adapter.gateTuning, 'elems', 'gateElems', 0, adapterLayerRun),
  adamwUpdate: (e, b, a) => opt.adamwUpdate(e, b.param, b.m, b.v, b.grad, b.norm ?? null, a.hyper, a.n),
  // `steps` guarded AdamW steps in one submission: step s reads grads[s], norms[s] and the loss
  // at history[2s]; the guard writes its skip flag to history[2s + 1].
  adamwGuardedSteps: (e, b, a) => {
    const grad = e.scratch('grad', a.n * 4), normB = e.scratch('norm', 4);
    for (let s = 0; s < a.steps; s++) {
      e.copy(b.grads, grad, a.n * 4, s * a.n * 4, 0);
      e.copy(b.norms, normB, 4, s * 4, 0);
      opt.optimGuard(e, b.guard, b.history, normB, { lossAt: 2 * s, flagAt: 2 * s + 1 });
      opt.adamwUpdate(e, b.param, b.m, b.v, grad, normB, a.hyper, a.n, b.guard);
    }
  },
  kmeansAssign: (e, b, a) => km.kmeansAssign(e, b.dist, b.assign, b.changed, b.points, b.centroids, a.shape, a.merge, a.tune),
  kmeansDist: (e, b, a) => km.kmeansDist(e, b.dist, b.points, b.centroids, a.shape, a.merge),
  kmeansUpdate: (e, b, a) => km.kmeansUpdate(e, b.centroids, b.points, b.assign, a.shape, a.chunk),
};
