// A training run in the worker: a configuration checked up front, the data cursor, the learning
// rate schedule, micro-batch accumulation, the GPU guard's skipped steps (five in a row stop the
// run with advice), GPU errors that fail the run naming the kernel, metric rows delivered in
// batches every few hundred milliseconds, validation loss every N steps, and pause / resume /
// stop between steps. The trainer (adapters, AdamW state) outlives the run for evaluation,
// export and generation.
import type { Engine, GpuErrorReport } from '../gpu/engine.ts';
import type { GpuModel } from '../model/gpuModel.ts';
import type { Dataset } from '../data/dataset.ts';
import type { DataCursor } from '../data/types.ts';
import { GpuTrainer, initAdapterParams, type TrainerState } from './trainer.ts';
import { checkSchedule, learningRate, type Schedule } from './schedule.ts';
import { checkStepFits, type MemoryEstimate } from './memory.ts';
import { adapterDims, adapterParamCount } from '../adapters/spec.ts';
import { adaptedLayers, layerSpec, MODULE_KINDS, withDefaults, type AdapterConfig, type ModuleKind, type TrainBatch } from './config.ts';

export interface RunConfig {
  method: AdapterConfig['method'];
  r1?: number;
  r2?: number;
  E?: number;
  r?: number;
  alpha?: number;
  topk?: number | null;
  lambdaH?: number;
  lambdaLB?: number;
  targets?: ModuleKind[];
  /** Ablations of T-REX / MoR1E routing: false drops the router term (intuition only) or the intuition term (router only). */
  useRouter?: boolean;
  useIntuition?: boolean;
  /** The intuition to compute before training (gated methods); without it the scores are zero. */
  intuition?: { source: 'model' | 'encoder' | 'supplied'; k?: number; layer?: number; seed?: number; encoder?: string; center?: boolean };
  init: 'fresh' | 'loaded';
  steps?: number;
  epochs?: number;
  batchSize: number;
  accumulate?: number;
  maxLength?: number;
  lr: number;
  schedule: Schedule;
  warmupSteps?: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
  maxNorm?: number;
  seed: number;
  /** Validation loss every this many steps (0 or absent: at the end only). */
  evalEvery?: number;
  /** Checkpoint every this many steps (0 or absent: on pause and at the end only). */
  checkpointEvery?: number;
  /** Refuse a run whose estimated GPU memory exceeds this (the per-buffer binding limit is always checked). */
  memoryBudgetMiB?: number;
}

export type RunStatus = 'idle' | 'running' | 'paused' | 'stopped' | 'finished' | 'failed';

export interface RunState {
  status: RunStatus;
  step: number;
  totalSteps: number;
  epoch: number;
  tokensPerSecond: number;
  etaSeconds: number | null;
  skipped: number;
  error?: string;
  /** The last checkpoint write that failed (training goes on; the previous checkpoint stays). */
  checkpointError?: string;
  id: string | null;
  /** The step's estimated GPU memory (weights, activations, adapters and AdamW state), MiB. */
  estimatedMiB: number;
  /** Parameters the run trains (every adapted layer's tensors, a mapper included). */
  trainableParameters: number;
}

export interface MetricRow {
  step: number;
  loss: number;
  lr: number;
  gradNorm: number;
  skipped: boolean;
  /** Real tokens in the step's batches. */
  tokens: number;
  /** Seconds since the run started (training time, pauses excluded). */
  seconds: number;
  valLoss?: number;
}

/** Most metric rows kept (older ones are thinned to every other row). */
export const MAX_METRIC_ROWS = 20_000;
const FLUSH_MS = 250;
export const MAX_CONSECUTIVE_SKIPS = 5;

export class RunError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RunError';
  }
}

/** The adapter configuration a run trains: the method's paper defaults, then the run's settings. */
export function adapterConfigOf(cfg: RunConfig, k: number | null): AdapterConfig {
  const picked: Partial<AdapterConfig> & { method: AdapterConfig['method'] } = { method: cfg.method };
  for (const key of ['r1', 'r2', 'E', 'r', 'alpha', 'topk', 'lambdaH', 'lambdaLB', 'targets', 'useRouter', 'useIntuition'] as const) if (cfg[key] !== undefined) (picked as Record<string, unknown>)[key] = cfg[key];
  const a = withDefaults(picked);
  return k !== null ? { ...a, k } : a;
}

/** Checks a configuration, naming the field and what would be valid. */
export function checkRunConfig(cfg: RunConfig): void {
  const int = (v: unknown, name: string, min = 1) => {
    if (v !== undefined && !(Number.isInteger(v) && (v as number) >= min)) throw new RunError(`${name} must be an integer ≥ ${min}, got ${JSON.stringify(v)}`);
  };
  if (!['trex', 'mor1e', 'lora', 'molora', 'sira'].includes(cfg.method)) throw new RunError(`method must be one of trex, mor1e, lora, molora, sira; got ${JSON.stringify(cfg.method)}`);
  if (cfg.init !== 'fresh' && cfg.init !== 'loaded') throw new RunError(`init must be "fresh" or "loaded", got ${JSON.stringify(cfg.init)}`);
  int(cfg.batchSize, 'batchSize');
  if (cfg.batchSize === undefined) throw new RunError('batchSize is required');
  int(cfg.accumulate, 'accumulate');
  int(cfg.steps, 'steps');
  int(cfg.epochs, 'epochs');
  int(cfg.maxLength, 'maxLength', 2);
  int(cfg.evalEvery, 'evalEvery', 0);
  int(cfg.checkpointEvery, 'checkpointEvery', 0);
  if (cfg.steps === undefined && cfg.epochs === undefined) throw new RunError('give steps or epochs');
  if (!Number.isInteger(cfg.seed)) throw new RunError(`seed must be an integer, got ${JSON.stringify(cfg.seed)}`);
  for (const [name, v, lo, hi] of [['beta1', cfg.beta1, 0, 1], ['beta2', cfg.beta2, 0, 1]] as const)
    if (v !== undefined && !(v >= lo && v < hi)) throw new RunError(`${name} must be in [${lo}, ${hi}), got ${v}`);
  if (cfg.eps !== undefined && !(cfg.eps > 0)) throw new RunError(`eps must be positive, got ${cfg.eps}`);
  if (cfg.weightDecay !== undefined && !(cfg.weightDecay >= 0)) throw new RunError(`weightDecay must be ≥ 0, got ${cfg.weightDecay}`);
  if (cfg.maxNorm !== undefined && !(cfg.maxNorm >= 0)) throw new RunError(`maxNorm must be ≥ 0 (0 = no clipping), got ${cfg.maxNorm}`);
  if (cfg.targets && cfg.targets.some((t) => !MODULE_KINDS.includes(t))) throw new RunError(`targets must be among ${MODULE_KINDS.join(', ')}; got ${JSON.stringify(cfg.targets)}`);
  if (cfg.topk !== undefined && cfg.topk !== null) int(cfg.topk, 'topk');
  for (const f of ['useRouter', 'useIntuition'] as const)
    if (cfg[f] !== undefined && typeof cfg[f] !== 'boolean') throw new RunError(`${f} must be true or false, got ${JSON.stringify(cfg[f])}`);
  if (cfg.useRouter === false && cfg.useIntuition === false) throw new RunError('useRouter and useIntuition cannot both be false: the experts would get no routing weight');
  if ((cfg.useRouter === false || cfg.useIntuition === false) && cfg.method !== 'trex' && cfg.method !== 'mor1e') throw new RunError(`useRouter / useIntuition are ablations of T-REX and MoR1E routing; ${cfg.method} has no intuition-guided router`);
  if (cfg.useRouter === false && !cfg.intuition) throw new RunError('useRouter false routes by the intuition alone: give an intuition (without one the scores are zero and no expert gets weight)');
  if (cfg.intuition && !['model', 'encoder', 'supplied'].includes(cfg.intuition.source)) throw new RunError(`intuition.source must be "model", "encoder" or "supplied", got ${JSON.stringify(cfg.intuition.source)}`);
  if (cfg.intuition && cfg.intuition.center !== undefined && typeof cfg.intuition.center !== 'boolean') throw new RunError(`intuition.center must be true or false, got ${JSON.stringify(cfg.intuition.center)}`);
}

export interface RunHooks {
  /** Metric rows, a few times a second. */
  onMetrics(rows: MetricRow[], state: RunState): void;
  /** Called at checkpoint points (every N steps, on pause, at the end) with the status to record. */
  onCheckpoint?(run: Run, status: RunStatus): Promise<void>;
}

export class Run {
  readonly trainer: GpuTrainer;
  readonly adapter: AdapterConfig;
  readonly trainableParameters: number;
  readonly totalSteps: number;
  readonly id: string;
  private status: RunStatus = 'idle';
  private error: string | undefined;
  private readonly rows: MetricRow[] = [];
  private pending: MetricRow[] = [];
  private readBack = 0;
  /** Step → tokens and lr, kept until the history readback turns them into rows. */
  private readonly stepInfo = new Map<number, { tokens: number; lr: number; seconds: number }>();
  private skippedTotal = 0;
  private consecutive = 0;
  private elapsed = 0;
  private resumeSignal: (() => void) | null = null;
  private stopRequested = false;
  private pauseRequested = false;
  /** Set by release(): the loop ends where it waits, writing and reporting nothing more. */
  private released = false;
  private loop: Promise<void> | null = null;
  private tokensDone = 0;
  private checkpointError: string | undefined;
  /** The step's estimated GPU memory (checkStepFits). */
  readonly memory!: MemoryEstimate;

  /** Writes a checkpoint; a failed write is reported in the state, never fatal to the run. */
  private async checkpoint(status: RunStatus): Promise<void> {
    if (!this.hooks.onCheckpoint) return;
    try {
      await this.hooks.onCheckpoint(this, status);
      this.checkpointError = undefined;
    } catch (e) {
      this.checkpointError = e instanceof Error ? e.message : String(e);
    }
  }

  constructor(
    private readonly engine: Engine,
    private readonly model: GpuModel,
    private readonly data: Dataset,
    readonly config: RunConfig,
    private readonly hooks: RunHooks,
    opts: { id: string; k: number | null; trainer?: GpuTrainer },
  ) {
    checkRunConfig(config);
    this.id = opts.id;
    this.adapter = adapterConfigOf(config, opts.k);
    const micro = config.accumulate ?? 1;
    const perEpoch = Math.ceil(data.rows('train').length / (config.batchSize * micro));
    this.totalSteps = config.steps ?? perEpoch * config.epochs!;
    checkSchedule({ lr: config.lr, schedule: config.schedule, warmupSteps: config.warmupSteps, totalSteps: this.totalSteps });
    // (adaptedLayers names targets that match nothing.)
    this.trainableParameters = adaptedLayers(model.spec, this.adapter).reduce((a, { lin }) => a + adapterParamCount(layerSpec(this.adapter, lin, 1)), 0);
    // The step's memory before anything is allocated: refuse with a suggestion rather than fail in WebGPU.
    const longest = Math.min(config.maxLength ?? data.options.maxLength, data.result().lengths?.max ?? 2) - 1;
    const budget = config.memoryBudgetMiB !== undefined ? config.memoryBudgetMiB * 2 ** 20 : null;
    try {
      this.memory = checkStepFits(model.spec, model.plan.weightBytes, this.adapter, config.batchSize, Math.max(1, longest), engine.ctx.limits, budget);
    } catch (e) {
      throw new RunError(e instanceof Error ? e.message : String(e));
    }
    this.trainer = opts.trainer ?? new GpuTrainer(engine, model, this.adapter, initAdapterParams(model, this.adapter, config.seed));
    // A run reads the training split from its first batch (a restore moves the cursor after).
    data.startReading({ batchSize: config.batchSize, maxLength: config.maxLength });
  }

  get gated(): boolean {
    return adapterDims(layerSpec(this.adapter, adaptedLayers(this.model.spec, this.adapter)[0].lin, 1)).gated;
  }

  state(): RunState {
    const step = this.trainer.steps;
    const tps = this.elapsed > 0 ? this.tokensDone / this.elapsed : 0;
    const perStep = step > 0 ? this.elapsed / step : null;
    return {
      status: this.status, step, totalSteps: this.totalSteps, epoch: this.data.cursor?.epoch ?? 0, tokensPerSecond: tps,
      etaSeconds: perStep !== null ? perStep * (this.totalSteps - step) : null, skipped: this.skippedTotal, ...(this.error ? { error: this.error } : {}),
      ...(this.checkpointError ? { checkpointError: this.checkpointError } : {}), id: this.id, estimatedMiB: Math.round(this.memory.totalBytes / 2 ** 20),
      trainableParameters: this.trainableParameters,
    };
  }

  /** Training seconds so far (pauses excluded). */
  get elapsedSeconds(): number {
    return this.elapsed;
  }

  metrics(): MetricRow[] {
    return [...this.rows];
  }

  get cursor(): DataCursor | null {
    return this.data.cursor;
  }

  /** Starts (or continues after a restore) the loop; resolves when it ends. */
  start(): Promise<void> {
    if (this.loop) throw new RunError('the run has already started');
    this.status = 'running';
    this.loop = this.run();
    return this.loop;
  }

  pause(): void {
    if (this.status === 'running') this.pauseRequested = true;
  }

  resume(): void {
    if (this.status !== 'paused') throw new RunError(`the run is ${this.status}, not paused`);
    this.status = 'running';
    this.pauseRequested = false;
    this.resumeSignal?.();
    this.resumeSignal = null;
    if (!this.loop) this.loop = this.run();
  }

  stop(): void {
    this.stopRequested = true;
    this.pauseRequested = false;
    this.resumeSignal?.();
    this.resumeSignal = null;
    // A restored run waits paused with no loop yet: run it, to stop at once (status and checkpoint 'stopped').
    if (!this.loop && this.status === 'paused') this.loop = this.run();
  }

  /**
   * Lets go of a paused run that another replaces (a restore): its loop ends where it waits, with
   * no checkpoint and no more reports, so its saved checkpoint stays 'paused' and restorable. The
   * caller then owns (and frees) the trainer.
   */
  async release(): Promise<void> {
    if (this.status !== 'paused' || this.stopRequested) throw new RunError(`only a paused run can be released; this one is ${this.stopRequested && this.status === 'paused' ? 'stopping' : this.status}`);
    this.released = true;
    this.resumeSignal?.();
    this.resumeSignal = null;
    await this.loop;
  }

  /** A stop was asked and the loop has not ended yet. */
  get stopping(): boolean {
    return this.stopRequested && (this.status === 'running' || this.status === 'paused');
  }

  /** Waits for the loop to end (after stop, failure or the last step). */
  async done(): Promise<void> {
    await this.loop;
  }

  /** Marks a restored run: paused at the checkpoint's step with its metrics (finished when no step is left). */
  restored(state: TrainerState, metrics: MetricRow[], elapsed: number, cursor: DataCursor): void {
    this.trainer.loadState(state);
    this.rows.push(...metrics);
    this.readBack = state.step;
    this.elapsed = elapsed;
    this.skippedTotal = state.guard[3];
    this.consecutive = state.guard[2];
    this.tokensDone = metrics.reduce((a, r) => a + r.tokens, 0);
    this.data.startReading({ batchSize: this.config.batchSize, maxLength: this.config.maxLength }, cursor);
    // A stopped or failed run with steps left can go on from its last checkpoint; a finished one cannot.
    this.status = state.step >= this.totalSteps ? 'finished' : 'paused';
  }

  private microBatches(): { batches: TrainBatch[]; tokens: number } {
    const batches: TrainBatch[] = [];
    let tokens = 0;
    for (let i = 0; i < (this.config.accumulate ?? 1); i++) {
      const b = this.data.nextBatch({ batchSize: this.config.batchSize, maxLength: this.config.maxLength });
      tokens += b.mask.reduce((a, m) => a + m, 0);
      const k = this.adapter.k ?? adapterDims(layerSpec(this.adapter, adaptedLayers(this.model.spec, this.adapter)[0].lin, 1)).E;
      // Gated methods without an intuition route with zero scores (the intuition term off in effect).
      const s = this.gated ? (b.s ?? new Array<number>(b.B * k).fill(0)) : null;
      batches.push({ B: b.B, T: b.T, ids: b.ids, targets: b.targets, mask: b.mask, task: b.task, s });
    }
    return { batches, tokens };
  }

  private async validation(): Promise<number | undefined> {
    if (!this.data.rows('validation').length) return undefined;
    // A fixed subset: the first validation batches in length order (at most 8).
    const vb = this.data.peekBatches({ split: 'validation', count: 8, batchSize: this.config.batchSize, maxLength: this.config.maxLength });
    const k = this.adapter.k ?? adapterDims(layerSpec(this.adapter, adaptedLayers(this.model.spec, this.adapter)[0].lin, 1)).E;
    return this.trainer.validationLoss(vb.map((b) => ({ B: b.B, T: b.T, ids: b.ids, targets: b.targets, mask: b.mask, task: b.task, s: this.gated ? (b.s ?? new Array<number>(b.B * k).fill(0)) : null })));
  }

  /** Reads the GPU history past what was read, turning steps into metric rows. */
  private async collect(): Promise<void> {
    const fresh = await this.trainer.history(this.readBack);
    for (const h of fresh) {
      const info = this.stepInfo.get(h.step);
      this.stepInfo.delete(h.step);
      const row: MetricRow = { step: h.step, loss: h.loss, lr: info?.lr ?? 0, gradNorm: h.gradNorm, skipped: h.skipped, tokens: info?.tokens ?? 0, seconds: info?.seconds ?? this.elapsed };
      if (h.skipped) {
        this.skippedTotal++;
        this.consecutive++;
      } else this.consecutive = 0;
      this.rows.push(row);
      this.pending.push(row);
    }
    this.readBack += fresh.length;
    if (this.rows.length > MAX_METRIC_ROWS) {
      // Thin the oldest half to every other row: a bounded history that still spans the run.
      const half = this.rows.splice(0, MAX_METRIC_ROWS / 2);
      this.rows.unshift(...half.filter((_, i) => i % 2 === 0));
    }
  }

  private flush(): void {
    if (!this.pending.length) return;
    this.hooks.onMetrics(this.pending, this.state());
    this.pending = [];
  }

  private async run(): Promise<void> {
    const errorsBefore = this.engine.errors.length;
    let gpuError: GpuErrorReport | null = null;
    const off = this.engine.onError((e) => (gpuError ??= e));
    let lastFlush = performance.now();
    const cfg = this.config;
    try {
      while (this.trainer.steps < this.totalSteps) {
        if (this.stopRequested) break;
        if (this.pauseRequested) {
          await this.collect();
          this.pauseRequested = false;
          // Paused only once the checkpoint is on disk: a reload right after finds it.
          await this.checkpoint('paused');
          // A stop that came while the checkpoint was written (no resume signal to wake yet).
          if (this.stopRequested) break;
          this.status = 'paused';
          this.flush();
          await new Promise<void>((r) => (this.resumeSignal = r));
          if (this.released) return;
          if (this.stopRequested) break;
          this.status = 'running';
        }
        const t0 = performance.now();
        const step = this.trainer.steps + 1;
        const lr = learningRate({ lr: cfg.lr, schedule: cfg.schedule, warmupSteps: cfg.warmupSteps, totalSteps: this.totalSteps }, step);
        const { batches, tokens } = this.microBatches();
        await this.trainer.accumulateStep(batches, { lr, beta1: cfg.beta1 ?? 0.9, beta2: cfg.beta2 ?? 0.999, eps: cfg.eps ?? 1e-8, weightDecay: cfg.weightDecay ?? 0, maxNorm: cfg.maxNorm ?? 1 });
        if (gpuError || this.engine.errors.length > errorsBefore) {
          const e = gpuError ?? this.engine.errors[this.engine.errors.length - 1];
          throw new RunError(`GPU ${e.kind} error${e.kernel ? ` in ${e.kernel}` : ''} at step ${step}: ${e.message}`);
        }
        this.elapsed += (performance.now() - t0) / 1000;
        this.tokensDone += tokens;
        this.stepInfo.set(step, { tokens, lr, seconds: this.elapsed });
        const evalNow = (cfg.evalEvery ?? 0) > 0 && step % cfg.evalEvery! === 0;
        if (performance.now() - lastFlush > FLUSH_MS || evalNow || step === this.totalSteps) {
          await this.collect();
          if (evalNow) {
            const row = this.rows.find((r) => r.step === step);
            const v = await this.validation();
            if (row && v !== undefined) row.valLoss = v;
          }
          this.flush();
          lastFlush = performance.now();
          if (this.consecutive >= MAX_CONSECUTIVE_SKIPS)
            throw new RunError(`${this.consecutive} steps in a row had a non-finite loss or gradient norm and were skipped; the run stopped. Lower the learning rate (now ${cfg.lr}) or tighten gradient clipping (maxNorm).`);
        }
        if ((cfg.checkpointEvery ?? 0) > 0 && step % cfg.checkpointEvery! === 0) await this.checkpoint('running');
      }
      await this.collect();
      if (this.trainer.steps >= this.totalSteps && !this.stopRequested) {
        const last = this.rows[this.rows.length - 1];
        const v = await this.validation();
        if (last && v !== undefined) last.valLoss = v;
      }
      const final: RunStatus = this.stopRequested && this.trainer.steps < this.totalSteps ? 'stopped' : 'finished';
      await this.checkpoint(final);
      this.status = final;
    } catch (e) {
      this.status = 'failed';
      this.error = e instanceof Error ? e.message : String(e);
    } finally {
      off();
      if (!this.released) {
        this.flush();
        this.hooks.onMetrics([], this.state());
      }
    }
  }
}
