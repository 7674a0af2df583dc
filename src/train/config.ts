// A finetune's configuration, independent of how it runs: which linear layers carry adapters
// (adaptedLayers, in one fixed order), the per-layer adapter spec, per-method defaults, the
// training batch and the optimiser's hyper-parameters. Shared by the GPU trainer, runs, memory
// estimates, export and the float64 reference (src/reference/train.ts).
import type { ModelSpec } from '../model/config.ts';
import { modelLayout, type BlockLayout, type Linear } from '../model/layout.ts';
import type { AdapterSpec } from '../adapters/spec.ts';
import type { AdamWHyper } from '../ops/shapes.ts';

/** Which linear layers of a block an adapter can target. */
export type ModuleKind = 'qkv' | 'q' | 'k' | 'v' | 'o' | 'fc' | 'proj' | 'gate' | 'up' | 'down';

export const MODULE_KINDS: ModuleKind[] = ['qkv', 'q', 'k', 'v', 'o', 'fc', 'proj', 'gate', 'up', 'down'];

export interface AdapterConfig extends Omit<AdapterSpec, 'T' | 'n' | 'm'> {
  /** Module kinds to adapt (default: every linear layer of every block). */
  targets?: ModuleKind[];
}

/** Adapted layers in a fixed order: `${layer}.${kind}` → its Linear. */
export function adaptedLayers(spec: ModelSpec, cfg: AdapterConfig): Array<{ key: string; l: number; kind: ModuleKind; lin: Linear }> {
  const out = [];
  const blocks = modelLayout(spec).blocks;
  for (let l = 0; l < blocks.length; l++)
    for (const kind of MODULE_KINDS) {
      const lin = blocks[l][kind as keyof BlockLayout] as Linear | null;
      if (lin && (!cfg.targets || cfg.targets.includes(kind))) out.push({ key: `${l}.${kind}`, l, kind, lin });
    }
  if (!out.length) throw new Error(`adapter targets ${JSON.stringify(cfg.targets)} match no linear layer of this ${spec.modelType} model`);
  return out;
}

export function layerSpec(cfg: AdapterConfig, lin: Linear, N: number): AdapterSpec {
  const { targets: _t, ...rest } = cfg;
  return { ...rest, T: N, n: lin.in, m: lin.out };
}

/** The paper's defaults per method: T-REX 4 x 8, MoR1E E = 32, LoRA / MoLoRA / SiRA rank 32 (LoRA alpha = r). */
export function withDefaults(cfg: Partial<AdapterConfig> & { method: AdapterConfig['method'] }): AdapterConfig {
  switch (cfg.method) {
    case 'trex':
      return { r1: 4, r2: 8, ...cfg };
    case 'mor1e':
      return { E: 32, ...cfg };
    case 'lora':
      return { r: 32, alpha: cfg.r ?? 32, ...cfg };
    default:
      return { r: 32, ...cfg };
  }
}

/**
 * The first setting in which two adapter configurations differ (null: the same adapter): method,
 * sizes, routing, cluster count, regularisers, ablations and targets, with absent values read as
 * their defaults (no top-k, no mapper, λ = 0, router and intuition on, every linear layer), so key
 * order and spelled-out defaults do not count.
 */
export function adapterConfigDiff(a: AdapterConfig, b: AdapterConfig): string | null {
  const norm = (c: AdapterConfig) => ({
    method: c.method, r1: c.r1 ?? null, r2: c.r2 ?? null, E: c.E ?? null, r: c.r ?? null, alpha: c.alpha ?? null, topk: c.topk ?? null, k: c.k ?? null,
    lambdaH: c.lambdaH ?? 0, lambdaLB: c.lambdaLB ?? 0, useRouter: c.useRouter ?? true, useIntuition: c.useIntuition ?? true,
    targets: c.targets ? [...c.targets].sort().join(',') : 'all',
  });
  const x = norm(a), y = norm(b);
  for (const key of Object.keys(x) as Array<keyof typeof x>) if (x[key] !== y[key]) return `${key}: ${JSON.stringify(x[key])} vs ${JSON.stringify(y[key])}`;
  return null;
}

export interface TrainBatch {
  /** Sequences and their (equal, padded) length. */
  B: number;
  T: number;
  /** (B·T) input token ids. */
  ids: number[];
  /** (B·T) next-token targets, −100 where masked (prompt, padding). */
  targets: number[];
  /**
   * Intuition scores per sequence (gated methods), the same for every token and layer: (B, E),
   * or (B, k) when the adapter config sets a cluster count k ≠ E (each layer's mapper then turns
   * them into its E routing scores).
   */
  s: number[] | null;
  /** (B) task label per sequence (0-based), for router statistics split by task; optional. */
  task?: number[] | null;
  /**
   * (B·T) padding mask: 1 = real token, 0 = padding; absent or null = every token is real.
   * The router regularisers (entropy, load balance) and the router statistics average over the
   * real tokens only, and padding tokens get no regulariser gradient. The cross-entropy is
   * masked by `targets` alone, so a padding token must also have target −100 (checked).
   */
  mask?: number[] | null;
}

/** The batch's padding mask, checked (B·T values of 0 or 1, −100 targets at padding), or null. */
export function batchMask(batch: TrainBatch): number[] | null {
  const { mask } = batch;
  if (!mask) return null;
  const N = batch.B * batch.T;
  if (mask.length !== N) throw new Error(`train batch: the mask has ${mask.length} values, B·T = ${N}`);
  for (let i = 0; i < N; i++) {
    if (mask[i] !== 0 && mask[i] !== 1) throw new Error(`train batch: mask[${i}] = ${mask[i]} must be 0 (padding) or 1 (real token)`);
    if (mask[i] === 0 && batch.targets[i] !== -100) throw new Error(`train batch: token ${i} is padding (mask 0) but has target ${batch.targets[i]}; padding targets must be −100`);
  }
  return mask;
}

export interface TrainHyper extends Omit<AdamWHyper, 'step' | 'lrMult'> {
  /** Global gradient-norm clip (0 = none). */
  maxNorm: number;
}
