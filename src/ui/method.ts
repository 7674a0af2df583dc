// The Method step's logic, kept out of the components: method presets (README, Training runs:
// T-REX 4 x 8, MoR1E E = 32, LoRA / MoLoRA / SiRA r = 32), the form → RunConfig mapping, the
// trainable parameter count and memory estimate for the loaded model, and the checks that explain
// an invalid combination beside its field before the worker would refuse it.
import { adapterDims, adapterParamCount, MOLORA_EXPERTS, type AdapterMethod } from '../adapters/spec.ts';
import { adaptedLayers, layerSpec, MODULE_KINDS, type AdapterConfig, type ModuleKind } from '../train/config.ts';
import { FIRST_RUN } from '../train/defaults.ts';
import { adapterConfigOf, type RunConfig } from '../train/run.ts';
import { checkStepFits, type MemoryEstimate } from '../train/memory.ts';
import type { Schedule } from '../train/schedule.ts';
import type { ImportResult } from '../data/types.ts';
import type { ModelInfo } from '../worker/api.ts';

export type IntuitionChoice = 'model' | 'encoder' | 'supplied' | 'none';

export interface MethodForm {
  method: AdapterMethod;
  r1: number;
  r2: number;
  E: number;
  r: number;
  alpha: number;
  routing: 'dense' | 'topk';
  topk: number;
  intuition: IntuitionChoice;
  /** Intuition clusters; 0 = one per expert (E), so no mapper is learned. */
  k: number;
  /** A sentence encoder's URL prefix or hub id (intuition 'encoder'). */
  encoder: string;
  lambdaH: number;
  lambdaLB: number;
  /** null: every linear layer of every block. */
  targets: ModuleKind[] | null;
  lr: number;
  schedule: Schedule;
  warmupSteps: number;
  length: 'steps' | 'epochs';
  steps: number;
  epochs: number;
  batchSize: number;
  accumulate: number;
  maxLength: number;
  seed: number;
  evalEvery: number;
  checkpointEvery: number;
}

export const METHODS: Array<{ id: AdapterMethod; label: string; blurb: string }> = [
  { id: 'trex', label: 'T-REX', blurb: 'r1 x r2 rank-1 experts from r1 down- and r2 up-vectors, routed per token and guided by the intuition' },
  { id: 'mor1e', label: 'MoR1E', blurb: 'E rank-1 experts, routed per token and guided by the intuition' },
  { id: 'lora', label: 'LoRA', blurb: 'one low-rank update B·A per layer (the baseline)' },
  { id: 'molora', label: 'MoLoRA', blurb: `${MOLORA_EXPERTS} LoRA experts of rank r/${MOLORA_EXPERTS}, mixed by a router` },
  { id: 'sira', label: 'SiRA', blurb: `${MOLORA_EXPERTS} LoRA experts of rank r/${MOLORA_EXPERTS}, sparse top-k routing` },
];

/** The method's display name (T-REX, MoR1E, LoRA, MoLoRA, SiRA). */
export const methodLabel = (m: AdapterMethod): string => METHODS.find((x) => x.id === m)!.label;

/** The method's sizes and routing as the paper sets them; training settings are left alone. */
export function presetOf(method: AdapterMethod): Partial<MethodForm> {
  switch (method) {
    case 'trex':
      return { method, r1: 4, r2: 8, routing: 'dense', intuition: 'model', k: 0 };
    case 'mor1e':
      return { method, E: 32, routing: 'dense', intuition: 'model', k: 0 };
    case 'lora':
      return { method, r: 32, alpha: 32, intuition: 'none' };
    default:
      return { method, r: 32, intuition: 'none' };
  }
}

/** The first run's settings: T-REX on the bundled tiny model and suite (src/train/defaults.ts, shared with the CLI). */
export function defaultForm(): MethodForm {
  return {
    method: FIRST_RUN.method, r1: FIRST_RUN.r1, r2: FIRST_RUN.r2, E: 32, r: 32, alpha: 32, routing: 'dense', topk: 2, intuition: 'model', k: 0, encoder: '',
    lambdaH: 0, lambdaLB: 0, targets: null, lr: FIRST_RUN.lr, schedule: FIRST_RUN.schedule, warmupSteps: FIRST_RUN.warmupSteps, length: 'steps', steps: FIRST_RUN.steps, epochs: 1,
    batchSize: FIRST_RUN.batchSize, accumulate: 1, maxLength: FIRST_RUN.maxLength, seed: FIRST_RUN.seed, evalEvery: 50, checkpointEvery: 50,
  };
}

export const isGated = (m: AdapterMethod) => m === 'trex' || m === 'mor1e';
/** Methods with a router (and so router statistics and regularisers). */
export const isRouted = (m: AdapterMethod) => m !== 'lora';

/** Experts of the form's method (0: LoRA). */
export function expertsOf(f: MethodForm): number {
  return f.method === 'trex' ? f.r1 * f.r2 : f.method === 'mor1e' ? f.E : f.method === 'lora' ? 0 : MOLORA_EXPERTS;
}

/** The module kinds the loaded model has (GPT-2: qkv, o, fc, proj; Llama: q, k, v, o, gate, up, down). */
export function moduleKindsOf(info: ModelInfo): ModuleKind[] {
  const kinds = new Set(adaptedLayers(info.spec, { method: 'lora', r: 1 }).map((l) => l.kind));
  return MODULE_KINDS.filter((k) => kinds.has(k));
}

export function toRunConfig(f: MethodForm): RunConfig {
  const gated = isGated(f.method);
  const sizes: Partial<RunConfig> =
    f.method === 'trex' ? { r1: f.r1, r2: f.r2 } : f.method === 'mor1e' ? { E: f.E } : f.method === 'lora' ? { r: f.r, alpha: f.alpha } : { r: f.r };
  return {
    method: f.method,
    ...sizes,
    ...(gated ? { topk: f.routing === 'topk' ? f.topk : null } : {}),
    ...(isRouted(f.method) ? { lambdaH: f.lambdaH, lambdaLB: f.lambdaLB } : {}),
    ...(f.targets ? { targets: f.targets } : {}),
    ...(gated && f.intuition !== 'none'
      ? { intuition: { source: f.intuition, seed: f.seed, ...(f.k ? { k: f.k } : {}), ...(f.intuition === 'encoder' ? { encoder: f.encoder.trim() } : {}) } }
      : {}),
    init: 'fresh',
    ...(f.length === 'steps' ? { steps: f.steps } : { epochs: f.epochs }),
    batchSize: f.batchSize,
    accumulate: f.accumulate,
    maxLength: f.maxLength,
    lr: f.lr,
    schedule: f.schedule,
    warmupSteps: f.warmupSteps,
    seed: f.seed,
    evalEvery: f.evalEvery,
    checkpointEvery: f.checkpointEvery,
  };
}

/**
 * The form that gives `cfg` back through toRunConfig (a started or restored run's settings into the
 * Method step); what the config does not set (another method's sizes, the ablations the form has no
 * field for) keeps `base`'s value.
 */
export function fromRunConfig(cfg: RunConfig, base: MethodForm): MethodForm {
  const f: MethodForm = { ...base, method: cfg.method, targets: cfg.targets ?? null };
  for (const key of ['r1', 'r2', 'E', 'r', 'alpha', 'lambdaH', 'lambdaLB', 'batchSize', 'accumulate', 'maxLength', 'lr', 'schedule', 'warmupSteps', 'seed', 'evalEvery', 'checkpointEvery'] as const)
    if (cfg[key] !== undefined) (f as unknown as Record<string, unknown>)[key] = cfg[key];
  if (isGated(cfg.method)) {
    f.routing = cfg.topk ? 'topk' : 'dense';
    if (cfg.topk) f.topk = cfg.topk;
    f.intuition = cfg.intuition?.source ?? 'none';
    f.k = cfg.intuition?.k ?? 0;
    f.encoder = cfg.intuition?.encoder ?? '';
  }
  if (cfg.steps !== undefined) Object.assign(f, { length: 'steps', steps: cfg.steps });
  else if (cfg.epochs !== undefined) Object.assign(f, { length: 'epochs', epochs: cfg.epochs });
  return f;
}

/** The adapter configuration the worker would build (with a mapper when k ≠ E). */
function adapterOf(f: MethodForm): AdapterConfig {
  const cfg = toRunConfig(f);
  const E = expertsOf(f);
  const k = isGated(f.method) && f.intuition !== 'none' && f.k && f.k !== E ? f.k : null;
  return adapterConfigOf(cfg, k);
}

export interface MethodContext {
  info: ModelInfo | null;
  data: ImportResult | null;
  limits: Record<string, number> | null;
}

export type Field = keyof MethodForm | 'memory';

/** Each field's label in the Method step (and its name in the step list's one line). */
export const FIELD_LABELS: Record<Field, string> = {
  method: 'Method', r1: 'r1 (down-vectors)', r2: 'r2 (up-vectors)', E: 'Experts E', r: 'Rank r', alpha: 'alpha', routing: 'Routing', topk: 'k (experts kept)',
  intuition: 'Intuition source', k: 'Clusters k', encoder: 'Encoder', lambdaH: 'λ entropy', lambdaLB: 'λ load balance', targets: 'Target modules', lr: 'Learning rate',
  schedule: 'Schedule', warmupSteps: 'Warmup steps', length: 'Length in', steps: 'Steps', epochs: 'Epochs', batchSize: 'Batch', accumulate: 'Accumulation',
  maxLength: 'Max length', seed: 'Seed', evalEvery: 'Validation every', checkpointEvery: 'Checkpoint every', memory: 'Memory (batch, length)',
};

export interface MethodCheck {
  /** Problems that stop a run, by field. */
  errors: Partial<Record<Field, string>>;
  /** Allowed but probably not meant, by field. */
  warnings: Partial<Record<Field, string>>;
  totalSteps: number | null;
  /** Trainable adapter parameters on the loaded model (null: no model, or the sizes are invalid). */
  trainable: number | null;
  adaptedLayers: number | null;
  memory: MemoryEstimate | null;
}

const isInt = (v: number, min: number) => Number.isInteger(v) && v >= min;

export function checkMethod(f: MethodForm, ctx: MethodContext): MethodCheck {
  const errors: MethodCheck['errors'] = {};
  const warnings: MethodCheck['warnings'] = {};
  const int = (field: keyof MethodForm, min: number, what = 'an integer') => {
    const v = f[field] as number;
    if (!isInt(v, min)) errors[field] = `must be ${what} ≥ ${min}`;
  };
  const gated = isGated(f.method);
  if (f.method === 'trex') {
    int('r1', 1);
    int('r2', 1);
  }
  if (f.method === 'mor1e') int('E', 1);
  if (f.method === 'lora' || f.method === 'molora' || f.method === 'sira') int('r', 1);
  if (f.method === 'lora' && !(f.alpha > 0)) errors.alpha = 'must be positive (the update is scaled by alpha / r)';
  if ((f.method === 'molora' || f.method === 'sira') && isInt(f.r, 1) && f.r % MOLORA_EXPERTS)
    errors.r = `must be a multiple of ${MOLORA_EXPERTS}: ${f.method === 'sira' ? 'SiRA' : 'MoLoRA'} splits it into ${MOLORA_EXPERTS} experts of rank r/${MOLORA_EXPERTS}`;
  const E = expertsOf(f);
  if (gated && f.routing === 'topk') {
    if (!isInt(f.topk, 1)) errors.topk = 'must be an integer ≥ 1';
    else if (E && f.topk > E) errors.topk = `keeps ${f.topk} experts but there are only ${E}`;
    else if (f.topk === E) warnings.topk = `top-${E} of ${E} experts is dense routing`;
  }
  if (gated) {
    if (f.intuition === 'supplied' && ctx.data && ctx.data.embDim === null) errors.intuition = 'the dataset has no `emb` vectors to supply; choose the model or an encoder';
    if (f.intuition === 'encoder' && !f.encoder.trim()) errors.encoder = "give the sentence encoder's folder URL or hub id";
    if (f.intuition === 'none') warnings.intuition = 'without an intuition the gates route with zero scores (the router alone)';
    if (f.intuition !== 'none') {
      if (f.k !== 0 && !isInt(f.k, 2)) errors.k = 'must be an integer ≥ 2 (or 0: one cluster per expert)';
      else if (ctx.data && (f.k || E) > ctx.data.train) {
        const n = ctx.data.train;
        const fix = n >= 2 ? `set k to at most ${n}` : 'choose no intuition';
        errors.k = `${f.k || E} clusters${f.k ? '' : ' (k = 0: one per expert)'} need at least as many training rows; the dataset has ${n}: ${fix}`;
      }
      else if (f.k && f.k !== E) warnings.k = `${f.k} clusters ≠ ${E} experts: each layer learns a ${E} x ${f.k} mapper`;
    }
  }
  if (isRouted(f.method)) {
    if (!Number.isFinite(f.lambdaH)) errors.lambdaH = 'must be a number (positive sharpens routing, negative spreads it)';
    if (!(Number.isFinite(f.lambdaLB) && f.lambdaLB >= 0)) errors.lambdaLB = 'must be ≥ 0 (a negative weight would reward unbalanced experts)';
  }
  if (f.targets && !f.targets.length) errors.targets = 'choose at least one module';
  if (!(f.lr > 0 && Number.isFinite(f.lr))) errors.lr = 'must be a positive number';
  else if (f.lr > 0.1) warnings.lr = 'above 0.1 a run usually diverges (the guard then stops it)';
  int('warmupSteps', 0);
  if (f.length === 'steps') int('steps', 1);
  else int('epochs', 1);
  int('batchSize', 1);
  int('accumulate', 1);
  int('maxLength', 2);
  if (!Number.isInteger(f.seed)) errors.seed = 'must be an integer';
  int('evalEvery', 0);
  int('checkpointEvery', 0);

  const train = ctx.data?.tokenized ? ctx.data.train : null;
  const totalSteps =
    f.length === 'steps' ? (isInt(f.steps, 1) ? f.steps : null) : train !== null && isInt(f.epochs, 1) && isInt(f.batchSize, 1) && isInt(f.accumulate, 1) ? Math.ceil(train / (f.batchSize * f.accumulate)) * f.epochs : null;
  if (totalSteps !== null && !errors.warmupSteps && f.warmupSteps >= totalSteps) warnings.warmupSteps = `the warmup covers all ${totalSteps} steps: the learning rate never reaches ${f.lr}`;
  if (train === 0) errors.batchSize = 'the training split is empty';

  let trainable: number | null = null;
  let layers: number | null = null;
  let memory: MemoryEstimate | null = null;
  const info = ctx.info;
  if (info) {
    if (isInt(f.maxLength, 2) && f.maxLength > info.maxPositions) errors.maxLength = `the model's context is ${info.maxPositions} tokens`;
    const kinds = moduleKindsOf(info);
    const foreign = f.targets?.filter((t) => !kinds.includes(t)) ?? [];
    if (foreign.length) errors.targets = `this ${info.modelType} model has no ${foreign.join(', ')} layers (it has ${kinds.join(', ')})`;
    const sizeFields: Field[] = ['r1', 'r2', 'E', 'r', 'alpha', 'topk', 'k', 'targets'];
    if (!sizeFields.some((k) => errors[k])) {
      try {
        const cfg = adapterOf(f);
        const list = adaptedLayers(info.spec, cfg);
        layers = list.length;
        trainable = list.reduce((a, { lin }) => a + adapterParamCount(layerSpec(cfg, lin, 1)), 0);
        adapterDims(layerSpec(cfg, list[0].lin, 1));
        const longest = Math.min(f.maxLength, ctx.data?.lengths?.max ?? f.maxLength) - 1;
        if (isInt(f.batchSize, 1) && isInt(f.maxLength, 2) && ctx.limits) {
          const limits = { maxStorageBufferBindingSize: ctx.limits.maxStorageBufferBindingSize, maxBufferSize: ctx.limits.maxBufferSize };
          try {
            memory = checkStepFits(info.spec, info.weightMiB * 2 ** 20, cfg, f.batchSize, Math.max(1, longest), limits, null);
          } catch (e) {
            errors.memory = e instanceof Error ? e.message : String(e);
          }
        }
      } catch (e) {
        errors.method = e instanceof Error ? e.message : String(e);
      }
    }
  }
  return { errors, warnings, totalSteps, trainable, adaptedLayers: layers, memory };
}

/** What is wrong with the settings, in a line (null: they can run). */
export function firstError(c: MethodCheck): string | null {
  const e = Object.entries(c.errors)[0];
  return e ? `${e[0]}: ${e[1]}` : null;
}
