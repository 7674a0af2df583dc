// Float64 reference of one adapted linear layer, forward and backward, for every method of
// ../shared/METHOD.md: T-REX (rank1_flex), MoR1E (rank1), LoRA, MoLoRA-style and SiRA-style,
// with dense or top-k routing, the two gates, the intuition scores, the ablations (router only,
// intuition only), the two router regularisers and the learned intuition mapper (k clusters
// ≠ E: s_E = M s_k, METHOD.md §2). The GPU kernels must match it.
//   y = W0 x + bias + beta · delta        (LoRA: + (alpha / r) · B A x)
// The backward is of L = Σ y ⊙ dy + λ_H · mean_t H(p_t) + λ_LB · E · Σ_k f_k P_k, where the
// regularisers' mean, f_k and P_k run over the real (non-padding) tokens only (`mask`).

import type { AdapterMethod, AdapterSpec, AdapterDims } from '../adapters/spec.ts';
import { TOKEN_COEF, TASK_COEF, GATE_SLOPE, MOLORA_EXPERTS, SIRA_KEEP, adapterDims, adapterParamCount, adapterInit } from '../adapters/spec.ts';
export type { AdapterMethod, AdapterSpec, AdapterDims };
export { TOKEN_COEF, TASK_COEF, GATE_SLOPE, MOLORA_EXPERTS, SIRA_KEEP, adapterDims, adapterParamCount, adapterInit };

type Arr = Float64Array | Float32Array;

export interface AdapterTensors {
  x: Arr; // (T, n)
  W0: Arr; // (m, n)
  bias?: Arr | null; // (m)
  A: Arr; // (rA, n)
  B: Arr; // (m, rB)
  Wr?: Arr | null; // (E or 8, n)
  wOmega?: Arr | null; // (1)
  wBeta?: Arr | null; // (1)
  /** Intuition scores per token: (T, E), or (T, k) with a mapper (spec.k ≠ E). */
  s?: Arr | null;
  /** The mapper (E, k) when spec.k ≠ E (trex / mor1e): routing reads s_E = M s_k. */
  M?: Arr | null;
  /**
   * (T) 1 = real token, 0 = padding; absent or null = every token is real. Only the router
   * regularisers and statistics read it: their means (entropy, f_k, P_k, G_k) run over the real
   * tokens, and padding tokens get no regulariser gradient. y and the Σ y ⊙ dy part are
   * per-token and unaffected (a padding token's dy is 0 when its target is masked).
   */
  mask?: ArrayLike<number> | null;
}

/** Number of real tokens (mask value 1) among T; T when there is no mask. */
export function realTokens(mask: ArrayLike<number> | null | undefined, T: number): number {
  if (!mask) return T;
  if (mask.length !== T) throw new RangeError(`adapter: mask has ${mask.length} values, the layer has ${T} tokens`);
  let c = 0;
  for (let i = 0; i < T; i++) {
    if (mask[i] !== 0 && mask[i] !== 1) throw new RangeError(`adapter: mask[${i}] = ${mask[i]} must be 0 (padding) or 1 (real token)`);
    c += mask[i];
  }
  return c;
}

/**
 * The intuition scores routing reads, (T, E): s itself without a mapper (the same array, so
 * nothing changes), else s_E = s_k · Mᵀ per token (s_k: (T, k), M: (E, k)).
 */
export function mappedScores(spec: AdapterSpec, t: AdapterTensors): Arr | null {
  const d = adapterDims(spec);
  if (!d.gated || !t.s) return null;
  if (!d.mapper) return t.s;
  const { T } = spec, E = d.E, k = d.k;
  if (!t.M || t.M.length !== E * k) throw new RangeError(`adapter ${spec.method}: k = ${k} clusters ≠ E = ${E} needs the mapper M (${E} x ${k})`);
  if (t.s.length !== T * k) throw new RangeError(`adapter ${spec.method}: s has ${t.s.length} values, T x k = ${T} x ${k} needs ${T * k}`);
  const sE = new Float64Array(T * E);
  for (let i = 0; i < T; i++)
    for (let e = 0; e < E; e++) {
      let v = 0;
      for (let c = 0; c < k; c++) v += t.M[e * k + c] * t.s[i * k + c];
      sE[i * E + e] = v;
    }
  return sE;
}

const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));

function softmax(z: ArrayLike<number>): Float64Array {
  let mx = -Infinity;
  for (let i = 0; i < z.length; i++) mx = Math.max(mx, z[i]);
  const p = new Float64Array(z.length);
  let sum = 0;
  for (let i = 0; i < z.length; i++) sum += p[i] = Math.exp(z[i] - mx);
  for (let i = 0; i < z.length; i++) p[i] /= sum;
  return p;
}

/** Indices of the k largest values, ties to the lower index, in index order. */
export function topkIndices(u: ArrayLike<number>, k: number): number[] {
  const idx = Array.from({ length: u.length }, (_, i) => i);
  idx.sort((a, b) => u[b] - u[a] || a - b);
  return idx.slice(0, k).sort((a, b) => a - b);
}

/** Per-token routing state saved for the backward. */
export interface TokenRoute {
  /** Full softmax of the router logits. */
  p: Float64Array;
  /** The kept experts (all, when dense). */
  kept: number[];
  /** Probabilities renormalised over the kept set (= p when dense). */
  pk: Float64Array;
  /** Routing weights (0 for skipped experts). */
  g: Float64Array;
}

export interface AdapterForward {
  y: Float64Array;
  /** Regulariser values (means over the real tokens, before the λ factors). */
  entropy: number;
  balance: number;
  routes: TokenRoute[];
  a: Float64Array; // (T, rA)
  /** Input of B: h (trex), a ⊙ g (mor1e), a ⊙ q (molora / sira), a (lora). */
  hB: Float64Array; // (T, rB)
  delta: Float64Array; // (T, m)
  w: number;
  beta: number;
  /** Load-balance counts f_k (fraction of the real tokens whose largest u is k). */
  f: Float64Array;
  /** Real (non-padding) tokens: the regularisers' denominator. */
  count: number;
  /** The intuition scores routing read, (T, E): s, or M s_k with a mapper; null without. */
  sE: Arr | null;
}

function route(spec: AdapterSpec, d: AdapterDims, t: TokenRoute['p'], s: ArrayLike<number> | null, w: number): TokenRoute {
  const p = t;
  const useRouter = spec.useRouter ?? true;
  const useIntuition = spec.useIntuition ?? true;
  const u = new Float64Array(d.E);
  for (let k = 0; k < d.E; k++) u[k] = (useRouter ? TOKEN_COEF * w * p[k] : 0) + (useIntuition && s ? TASK_COEF * (1 - w) * s[k] : 0);
  const k = spec.topk ?? d.E;
  if (!(Number.isInteger(k) && k >= 1 && k <= d.E)) throw new RangeError(`adapter: topk ${spec.topk} must be in 1..${d.E}`);
  if (k === d.E) return { p, kept: Array.from({ length: d.E }, (_, i) => i), pk: p, g: u };
  const kept = topkIndices(u, k);
  let S = 0;
  for (const i of kept) S += p[i];
  const pk = new Float64Array(d.E);
  const g = new Float64Array(d.E);
  for (const i of kept) {
    pk[i] = p[i] / S;
    g[i] = (useRouter ? TOKEN_COEF * w * pk[i] : 0) + (useIntuition && s ? TASK_COEF * (1 - w) * s[i] : 0);
  }
  return { p, kept, pk, g };
}

export function adapterForward(spec: AdapterSpec, t: AdapterTensors): AdapterForward {
  const d = adapterDims(spec);
  const { T, n, m } = spec;
  const y = new Float64Array(T * m);
  const a = new Float64Array(T * d.rA);
  const hB = new Float64Array(T * d.rB);
  const delta = new Float64Array(T * m);
  const routes: TokenRoute[] = [];
  const w = d.gated ? sigmoid(GATE_SLOPE * t.wOmega![0]) : 0;
  const beta = d.gated ? sigmoid(GATE_SLOPE * t.wBeta![0]) : 1;
  const f = new Float64Array(d.E);
  const count = realTokens(t.mask, T);
  const sE = mappedScores(spec, t);
  let entropy = 0;
  let balance = 0;
  const P = new Float64Array(d.E);
  for (let i = 0; i < T; i++) {
    const x = t.x.subarray(i * n, (i + 1) * n);
    for (let r = 0; r < d.rA; r++) {
      let v = 0;
      for (let c = 0; c < n; c++) v += t.A[r * n + c] * x[c];
      a[i * d.rA + r] = v;
    }
    const ai = a.subarray(i * d.rA, (i + 1) * d.rA);
    const h = hB.subarray(i * d.rB, (i + 1) * d.rB);
    if (d.E > 0) {
      const z = new Float64Array(d.E);
      for (let k = 0; k < d.E; k++) {
        let v = 0;
        for (let c = 0; c < n; c++) v += t.Wr![k * n + c] * x[c];
        z[k] = v;
      }
      const p = softmax(z);
      if (d.gated) {
        const rt = route(spec, d, p, sE ? sE.subarray(i * d.E, (i + 1) * d.E) : null, w);
        routes.push(rt);
        if (spec.method === 'trex') {
          for (let j = 0; j < d.rB; j++) {
            let v = 0;
            for (let r = 0; r < d.rA; r++) v += rt.g[r * d.rB + j] * ai[r];
            h[j] = v;
          }
        } else {
          for (let k = 0; k < d.E; k++) h[k] = ai[k] * rt.g[k];
        }
        // Regulariser statistics over the real tokens: entropy of the full softmax, argmax of the dense u.
        if (!t.mask || t.mask[i]) {
          for (let k = 0; k < d.E; k++) {
            entropy -= p[k] > 0 ? p[k] * Math.log(p[k]) : 0;
            P[k] += p[k] / count;
          }
          const useRouter = spec.useRouter ?? true, useIntuition = spec.useIntuition ?? true;
          let best = 0, bestU = -Infinity;
          for (let k = 0; k < d.E; k++) {
            const u = (useRouter ? TOKEN_COEF * w * p[k] : 0) + (useIntuition && sE ? TASK_COEF * (1 - w) * sE[i * d.E + k] : 0);
            if (u > bestU) {
              bestU = u;
              best = k;
            }
          }
          f[best] += 1 / count;
        }
      } else {
        // MoLoRA / SiRA: rank slot k follows expert k mod 8 (torch repeat); SiRA keeps the top 6.
        const keep = spec.method === 'sira' ? new Set(topkIndices(p, SIRA_KEEP)) : null;
        const q = new Float64Array(d.E);
        for (let e = 0; e < d.E; e++) q[e] = !keep || keep.has(e) ? p[e] : 0;
        routes.push({ p, kept: keep ? [...keep].sort((x, y) => x - y) : Array.from({ length: d.E }, (_, e) => e), pk: p, g: q });
        for (let k = 0; k < d.rA; k++) h[k] = ai[k] * q[k % MOLORA_EXPERTS];
      }
    } else {
      for (let k = 0; k < d.rA; k++) h[k] = ai[k] * (spec.alpha ?? d.rA) / d.rA;
    }
    for (let o = 0; o < m; o++) {
      let base = t.bias ? t.bias[o] : 0;
      for (let c = 0; c < n; c++) base += t.W0[o * n + c] * x[c];
      let dl = 0;
      for (let j = 0; j < d.rB; j++) dl += t.B[o * d.rB + j] * h[j];
      delta[i * m + o] = dl;
      y[i * m + o] = base + beta * dl;
    }
  }
  if (d.gated && count > 0) {
    entropy /= count;
    for (let k = 0; k < d.E; k++) balance += f[k] * P[k];
    balance *= d.E;
  }
  return { y, entropy, balance, routes, a, hB, delta, w, beta, f, count, sE };
}

export interface AdapterGrads {
  dx: Float64Array;
  dA: Float64Array;
  dB: Float64Array;
  dWr: Float64Array | null;
  dwOmega: number;
  dwBeta: number;
  /** (E, k) the mapper's gradient, when there is one. */
  dM: Float64Array | null;
}

/** Gradients of L = Σ y ⊙ dy + λ_H · entropy + λ_LB · balance (regulariser terms at real tokens only). */
export function adapterBackward(spec: AdapterSpec, t: AdapterTensors, fw: AdapterForward, dy: Arr): AdapterGrads {
  const d = adapterDims(spec);
  const { T, n, m } = spec;
  const dx = new Float64Array(T * n);
  const dA = new Float64Array(d.rA * n);
  const dB = new Float64Array(m * d.rB);
  const dWr = d.E > 0 ? new Float64Array(d.E * n) : null;
  const dM = d.mapper ? new Float64Array(d.E * d.k) : null;
  let dwOmega = 0;
  let dwBeta = 0;
  const lH = spec.lambdaH ?? 0, lLB = spec.lambdaLB ?? 0;
  const w = fw.w, beta = fw.beta;
  for (let i = 0; i < T; i++) {
    const x = t.x.subarray(i * n, (i + 1) * n);
    const dyi = dy.subarray(i * m, (i + 1) * m);
    const ai = fw.a.subarray(i * d.rA, (i + 1) * d.rA);
    const h = fw.hB.subarray(i * d.rB, (i + 1) * d.rB);
    const scale = d.gated ? beta : 1;
    // dδ = beta · dy; dB += dδ ⊗ hB; dhB = Bᵀ dδ.
    const dh = new Float64Array(d.rB);
    for (let o = 0; o < m; o++) {
      const dd = scale * dyi[o];
      for (let j = 0; j < d.rB; j++) {
        dB[o * d.rB + j] += dd * h[j];
        dh[j] += t.B[o * d.rB + j] * dd;
      }
      if (d.gated) dwBeta += dyi[o] * fw.delta[i * m + o] * GATE_SLOPE * beta * (1 - beta);
      for (let c = 0; c < n; c++) dx[i * n + c] += t.W0[o * n + c] * dyi[o];
    }
    const da = new Float64Array(d.rA);
    let dz: Float64Array | null = null;
    if (d.gated) {
      const rt = fw.routes[i];
      const dg = new Float64Array(d.E);
      if (spec.method === 'trex') {
        for (let r = 0; r < d.rA; r++)
          for (let j = 0; j < d.rB; j++) {
            dg[r * d.rB + j] = ai[r] * dh[j];
            da[r] += rt.g[r * d.rB + j] * dh[j];
          }
      } else {
        for (let k = 0; k < d.E; k++) {
          dg[k] = dh[k] * ai[k];
          da[k] = dh[k] * rt.g[k];
        }
      }
      const useRouter = spec.useRouter ?? true, useIntuition = spec.useIntuition ?? true;
      // Gate: g_k = 32 w pk_k + 4 (1 − w) s_k over the kept set (s = s_E with a mapper).
      for (const k of rt.kept) {
        const sk = fw.sE ? fw.sE[i * d.E + k] : 0;
        dwOmega += dg[k] * ((useRouter ? TOKEN_COEF * rt.pk[k] : 0) - (useIntuition ? TASK_COEF * sk : 0)) * GATE_SLOPE * w * (1 - w);
      }
      // Mapper: ds_E_k = 4 (1 − w) dg_k on the kept set (the selection has no gradient);
      // s_E = M s_k, so dM += ds_E ⊗ s_k.
      if (dM && useIntuition && t.s) {
        const sk = t.s!.subarray(i * d.k, (i + 1) * d.k);
        for (const k of rt.kept) {
          const dsE = TASK_COEF * (1 - w) * dg[k];
          for (let c = 0; c < d.k; c++) dM[k * d.k + c] += dsE * sk[c];
        }
      }
      dz = new Float64Array(d.E);
      if (useRouter) {
        // Softmax backward through the kept set (the renormalised softmax over z restricted to it).
        let dot = 0;
        for (const k of rt.kept) dot += rt.pk[k] * TOKEN_COEF * w * dg[k];
        for (const k of rt.kept) dz[k] += rt.pk[k] * (TOKEN_COEF * w * dg[k] - dot);
      }
      // Regularisers act on the full softmax p of the real tokens (means over fw.count of them).
      if (!t.mask || t.mask[i]) {
        const p = rt.p;
        const dp = new Float64Array(d.E);
        for (let k = 0; k < d.E; k++) dp[k] = (lH * -(Math.log(p[k]) + 1)) / fw.count + (lLB * d.E * fw.f[k]) / fw.count;
        let dot = 0;
        for (let k = 0; k < d.E; k++) dot += p[k] * dp[k];
        for (let k = 0; k < d.E; k++) dz[k] += p[k] * (dp[k] - dot);
      }
    } else if (d.E > 0) {
      const rt = fw.routes[i];
      const dq = new Float64Array(d.E);
      for (let k = 0; k < d.rA; k++) {
        da[k] = dh[k] * rt.g[k % MOLORA_EXPERTS];
        dq[k % MOLORA_EXPERTS] += dh[k] * ai[k];
      }
      // SiRA's dropped experts are constant zeros: no gradient reaches their probabilities.
      for (let e = 0; e < d.E; e++) if (!rt.kept.includes(e)) dq[e] = 0;
      dz = new Float64Array(d.E);
      let dot = 0;
      for (let e = 0; e < d.E; e++) dot += rt.p[e] * dq[e];
      for (let e = 0; e < d.E; e++) dz[e] = rt.p[e] * (dq[e] - dot);
    } else {
      const sc = (spec.alpha ?? d.rA) / d.rA;
      for (let r = 0; r < d.rA; r++) da[r] = dh[r] * sc;
    }
    for (let r = 0; r < d.rA; r++)
      for (let c = 0; c < n; c++) {
        dA[r * n + c] += da[r] * x[c];
        dx[i * n + c] += t.A[r * n + c] * da[r];
      }
    if (dz)
      for (let k = 0; k < d.E; k++)
        for (let c = 0; c < n; c++) {
          dWr![k * n + c] += dz[k] * x[c];
          dx[i * n + c] += t.Wr![k * n + c] * dz[k];
        }
  }
  return { dx, dA, dB, dWr, dwOmega, dwBeta, dM };
}

/**
 * adapter_mapper_backward's reference (trex / mor1e with a mapper and the intuition term on):
 * the gradient of the mapped scores, ds_E = 4 (1 − w) dg on each token's kept experts (pk > 0)
 * and 0 elsewhere, with dg formed from the saved layouts as adapter_route_backward forms it
 * (trex dg[i·r2 + j] = a_i dh_j, mor1e dg_k = dh_k a_k). dM += ds_Eᵀ · s_k is then a matmul.
 *   dsE (T, E) `=`;  dh (T, rB);  proj (T, E + rA) = z | a;  route (T, 3E) = p | pk | g;  gates (2).
 */
export function adapterMapperBackward(dsE: Arr, dh: ArrayLike<number>, proj: ArrayLike<number>, route: ArrayLike<number>, gates: ArrayLike<number>, spec: AdapterSpec): void {
  const d = adapterDims(spec);
  if (!d.gated) throw new RangeError(`adapterMapperBackward: ${spec.method} has no intuition scores`);
  const { T } = spec, E = d.E;
  const w = sigmoid(GATE_SLOPE * gates[0]);
  for (let t = 0; t < T; t++) {
    const a = (i: number) => proj[t * (E + d.rA) + E + i];
    for (let k = 0; k < E; k++) {
      const dg = spec.method === 'trex' ? a(Math.floor(k / d.rB)) * dh[t * d.rB + (k % d.rB)] : dh[t * d.rB + k] * a(k);
      dsE[t * E + k] = route[t * 3 * E + E + k] > 0 ? TASK_COEF * (1 - w) * dg : 0;
    }
  }
}

/**
 * Router statistics as adapter_route_stats lays them out: per group (0 = all real tokens, 1 + c =
 * real tokens of task c; padding tokens, t.mask = 0, count in no group) f (top-1 share) |
 * P (mean p) | G (mean g) | mean entropy | token count, then the load-balance value
 * E · Σ f_k P_k of group 0.
 */
export function routeStats(spec: AdapterSpec, fw: AdapterForward, t: AdapterTensors, task: ArrayLike<number> | null, groups: number): Float64Array {
  const d = adapterDims(spec);
  const E = d.E;
  const stride = 3 * E + 2;
  const out = new Float64Array(groups * stride + 1);
  const useRouter = spec.useRouter ?? true, useIntuition = spec.useIntuition ?? true;
  realTokens(t.mask, spec.T); // validates the mask
  for (let grp = 0; grp < groups; grp++) {
    const o = grp * stride;
    let count = 0;
    for (let i = 0; i < spec.T; i++) {
      if (t.mask && !t.mask[i]) continue;
      if (grp > 0 && task![i] + 1 !== grp) continue;
      count++;
      const rt = fw.routes[i];
      let best = 0, bestU = -Infinity;
      for (let k = 0; k < E; k++) {
        const u = d.gated ? (useRouter ? TOKEN_COEF * fw.w * rt.p[k] : 0) + (useIntuition && fw.sE ? TASK_COEF * (1 - fw.w) * fw.sE[i * E + k] : 0) : rt.p[k];
        if (u > bestU) {
          bestU = u;
          best = k;
        }
        out[o + E + k] += rt.p[k];
        out[o + 2 * E + k] += rt.g[k];
        if (rt.p[k] > 0) out[o + 3 * E] -= rt.p[k] * Math.log(rt.p[k]);
      }
      out[o + best] += 1;
    }
    for (let j = 0; j < 3 * E + 1; j++) out[o + j] = count ? out[o + j] / count : 0;
    out[o + 3 * E + 1] = count;
  }
  let b = 0;
  for (let k = 0; k < E; k++) b += out[k] * out[E + k];
  out[groups * stride] = E * b;
  return out;
}

