// The typed test API on window.mor1e (dev and test builds only; see README, Testing). Each call
// goes through the same store actions and worker API as the UI.
import type { GpuState } from './ui/store/gpuSlice.ts';
import type { GpuErrorReport } from './gpu/engine.ts';
import type { FinetuneRequest, FinetuneResult, GenerateRequest, GenerateResult, ModelInfo, ModelSource, RoutingRequest, RoutingResult } from './worker/api.ts';
import type { AdapterFile, AdapterInfo, EmbedOptions, EncoderInfo, EvaluateRequest, ExportRequest, LogitsOptions } from './worker/api.ts';
import type { ModelState } from './ui/store/modelSlice.ts';
import type { AdapterSpec } from './adapters/spec.ts';
import type { AdapterLayerResult, AdapterLayerTensors } from './adapters/layerRun.ts';
import type { DatasetBatch, ImportOptions, ImportResult, PeekRequest } from './data/types.ts';
import type { DataState } from './ui/store/dataSlice.ts';
import type { KmeansRequest, KmeansResult } from './intuition/kmeans.ts';
import type { IntuitionRequest, IntuitionResult } from './intuition/intuition.ts';
import type { MetricRow, RunConfig, RunState } from './train/run.ts';
import type { RunRecord } from './train/checkpoint.ts';
import type { EvalResult } from './train/evaluate.ts';

export interface Mor1eTestApi {
  gpuStatus(): GpuState;
  gpuErrors(): GpuErrorReport[];
  /** Loads a model from a URL prefix (a folder served over HTTP) or any ModelSource; rejects with the UI's error message. */
  loadModel(source: string | ModelSource): Promise<ModelInfo>;
  /** Loads a BERT sentence encoder (URL prefix or ModelSource) beside the model; rejects with the loader's message. */
  loadEncoder(source: string | ModelSource): Promise<EncoderInfo>;
  /** L2-normalised mean-pooled sentence embeddings (N, hidden), row-major, from the loaded encoder on the GPU. */
  embedTexts(texts: string[], opts?: EmbedOptions): Promise<Float32Array>;
  modelState(): ModelState;
  /** Token ids of `text` with the loaded model's tokenizer (special tokens added as it does). */
  tokenize(text: string, addSpecialTokens?: boolean): Promise<number[]>;
  /**
   * Logits (T, V) of one sequence, row-major, from the real GPU forward pass: through the active
   * adapter (a run's or a loaded one) unless `adapter: false`; `s` gives the E (or k) intuition
   * scores instead of scoring the decoded prompt.
   */
  logits(ids: number[], opts?: LogitsOptions): Promise<Float32Array>;
  /** One prompt through the active adapter: per adapted layer and token, the routing weights g and router probabilities p (T x E each; gated methods). */
  routing(req: RoutingRequest): Promise<RoutingResult>;
  /** The active adapter exported: `kind` 'adapter' (PEFT LoRA or the mor1e format), 'merged' (LoRA) or 'per-cluster'; paths inside the export. */
  exportAdapter(req: ExportRequest): Promise<AdapterFile[]>;
  /** Loads an adapter from a URL prefix or `{ kind: 'files', files }`, validated against the loaded model; resolves to its description. */
  loadAdapter(source: string | { kind: 'files'; files: AdapterFile[] }): Promise<AdapterInfo>;
  /** Drops the active adapter. */
  unloadAdapter(): Promise<void>;
  generate(req: GenerateRequest): Promise<GenerateResult>;
  /**
   * One adapted layer (trex, mor1e, lora, molora, sira) forward and backward through the real
   * WGSL kernels: y, dx, dA, dB, dWr, dwOmega, dwBeta, entropy, balance (those the method has),
   * for L = Σ y ⊙ dy + λ_H · entropy + λ_LB · balance.
   */
  adapterLayer(spec: AdapterSpec, tensors: AdapterLayerTensors): Promise<AdapterLayerResult>;
  /**
   * Imports a dataset (JSONL, JSON array, CSV, TSV) from text or a URL in the worker, tokenized
   * with the loaded model's tokenizer; resolves to the counts, tasks and problems by line (the
   * first 1,000). Rejects, with the UI's message, when no row is usable.
   */
  importDataset(input: { name: string; text: string } | { url: string; name?: string }, options?: ImportOptions): Promise<ImportResult>;
  dataState(): DataState;
  /** The next `count` batches exactly as the trainer would receive them, without moving the cursor. */
  peekBatches(req: PeekRequest): Promise<DatasetBatch[]>;
  /** Fresh adapters (seeded METHOD.md init) on the loaded model, trained on one fixed batch: each step's loss. */
  finetune(req: FinetuneRequest): Promise<FinetuneResult>;
  /**
   * k-means on the GPU ({ points (n·d, row-major), n, d, k, seed, restarts?, maxIter? }):
   * centroids (k, d), assignments, inertia, iterations and the kept restart, following the
   * float64 reference's rules and random draws (src/reference/kmeans.ts).
   */
  kmeans(req: KmeansRequest): Promise<KmeansResult>;
  /**
   * The intuition on the imported dataset: embeddings (base model at a block, a sentence encoder,
   * or supplied `emb`), k-means on the GPU, s = C e for every row (batches carry it from then on);
   * cluster sizes, inertia, purity / NMI against tasks, and a 2-D map (PCA, or UMAP).
   */
  intuition(req: IntuitionRequest): Promise<IntuitionResult>;
  /** Scores (N x k) of new prompts, embedded and scored like the training rows. */
  intuitionScores(texts: string[]): Promise<Float32Array>;
  /**
   * Starts a training run on the imported dataset (see README, Training runs): `{ method, r1?, r2?,
   * E?, r?, alpha?, topk?, lambdaH?, lambdaLB?, targets?, intuition?, init, steps? | epochs?,
   * batchSize, accumulate?, maxLength?, lr, schedule, warmupSteps?, beta1?, beta2?, eps?,
   * weightDecay?, maxNorm?, seed, evalEvery?, checkpointEvery? }`; resolves once running.
   */
  startRun(config: RunConfig): Promise<RunState>;
  pauseRun(): Promise<RunState>;
  resumeRun(): Promise<RunState>;
  stopRun(): Promise<RunState>;
  runState(): Promise<RunState>;
  /** Every step's row: `{ step, loss, lr, gradNorm, skipped, tokens, seconds, valLoss? }`. */
  metrics(): Promise<MetricRow[]>;
  routerStats(): Promise<FinetuneResult['routerStats']>;
  /** Per-task accuracy with (`adapter: true`) or without the adapter: `{ tasks: { [task]: { n, accuracy, likelihoodAccuracy? } }, mean, rows }`. */
  evaluate(req: EvaluateRequest): Promise<EvalResult>;
  /** Fault injection: destroys the model's embedding weights on the GPU so the next step fails validation. */
  forceGpuError(): Promise<void>;
  /** Saved runs (checkpoints in this browser's private file system). */
  runs(): Promise<RunRecord[]>;
  /** Restores a saved run, paused at its checkpoint; resumeRun() continues it. */
  restoreRun(id: string): Promise<RunState>;
  /** The base model's embeddings of texts (the intuition's "model" source): mean-pooled states after block `layer`, L2-normalised. */
  modelEmbeddings(texts: string[], layer?: number): Promise<Float32Array>;
}

declare global {
  interface Window {
    mor1e?: Mor1eTestApi;
  }
}
