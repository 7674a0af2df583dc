// The optimiser guard on the GPU against its reference: steps whose loss or gradient norm is
// NaN or infinite are skipped (weights and AdamW state untouched, counted, flagged in the
// history), and AdamW's bias correction counts applied steps only.
import { test, expect } from './fixtures.ts';
import { adamwUpdate, optimGuard, type AdamWHyper, type GuardState } from '../src/reference/optim.ts';
import { f32, maxRelError, rand32, seeded } from './util.ts';

const TOL = 1e-5;

test.describe('optimiser guard', () => {
  for (const n of [1, 37, 300]) {
    test(`guarded AdamW: 6 steps with NaN/inf losses and norms, n=${n}`, async ({ gpu }) => {
      const r = seeded(`guard${n}`);
      const steps = 6;
      const losses = [1.5, NaN, 0.9, 0.8, Infinity, 0.7];
      const norms = [2, 3, NaN, 1.5, 1, -Infinity];
      const grads = rand32(steps * n, r);
      const param0 = rand32(n, r);
      const h: Omit<AdamWHyper, 'step'> = { lr: 1e-2, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, maxNorm: 1 };
      // Reference: guard, then AdamW with t = applied steps when the step is applied.
      const p = Float64Array.from(param0), m = new Float64Array(n), v = new Float64Array(n);
      let st: GuardState = { t: 0, skip: 0, run: 0, skipped: 0 };
      const flags: number[] = [];
      for (let s = 0; s < steps; s++) {
        st = optimGuard(st, Math.fround(losses[s]), Math.fround(norms[s]));
        flags.push(st.skip);
        if (!st.skip) adamwUpdate(p, m, v, grads.subarray(s * n, (s + 1) * n), Float64Array.from([Math.fround(norms[s])]), { ...h, step: st.t }, n);
      }
      expect(st).toEqual({ t: 2, skip: 1, run: 2, skipped: 4 });
      const history = losses.flatMap((l) => [l, NaN]);
      const g = await gpu.run({
        op: 'adamwGuardedSteps',
        inputs: { grads: f32(grads), norms: f32(norms) },
        outputs: {
          param: { length: n, init: Array.from(param0) }, m: { length: n, init: new Array(n).fill(0) }, v: { length: n, init: new Array(n).fill(0) },
          history: { length: 2 * steps, init: history }, guard: { length: 4, init: [0, 0, 0, 0] },
        },
        args: { n, steps, hyper: { ...h, step: 1 } },
      });
      expect(maxRelError(g.param, p)).toBeLessThan(TOL);
      expect(maxRelError(g.m, m)).toBeLessThan(TOL);
      expect(maxRelError(g.v, v)).toBeLessThan(TOL);
      expect(g.history.filter((_, i) => i % 2 === 1)).toEqual(flags);
      // The guard's u32 state, read back through an f32 view.
      expect(Array.from(new Uint32Array(Float32Array.from(g.guard).buffer))).toEqual([st.t, st.skip, st.run, st.skipped]);
      await gpu.expectNoGpuErrors();
    });
  }
});
