// The one typed API between the UI and the engine worker (types only; no code runs here).
// Calls are coarse; progress, tokens and GPU errors arrive through the one callback given to
// init(). Big arrays (logits) come back transferred.
import type { AdapterDescription, GpuUnavailableReason, OptionalFeature } from '../gpu/device.ts';
import type { GpuErrorReport } from '../gpu/engine.ts';
import type { FileProgress, NamedBlob } from '../model/sources.ts';
import type { UploadProgress } from '../model/gpuModel.ts';
import type { ChatMessage } from '../model/tokenizer.ts';
import type { AdapterSpec } from '../reference/adapter.ts';
import type { AdapterLayerResult, AdapterLayerTensors } from '../adapters/layerRun.ts';
import type { AdapterConfig, TrainBatch, TrainHyper } from '../reference/train.ts';
import type { DatasetBatch, DatasetInput, ImportOptions, ImportResult, PeekRequest } from '../data/types.ts';
import type { ReadProgress } from '../data/records.ts';

export interface GpuReady {
  ok: true;
  adapter: AdapterDescription;
  adapterName: string;
  features: OptionalFeature[];
  limits: Record<string, number>;
}

export interface GpuFailed {
  ok: false;
  reason: GpuUnavailableReason;
  /** Written for the user: what is wrong and which browser flag or setting to try. */
  message: string;
}

export type GpuInitResult = GpuReady | GpuFailed;

export type ModelSource =
  | { kind: 'url'; url: string }
  | { kind: 'hub'; repo: string; revision?: string; hubUrl?: string }
  | { kind: 'files'; files: NamedBlob[]; label?: string };

export interface ModelInfo {
  source: string;
  modelType: string;
  arch: 'gpt2' | 'llama';
  layers: number;
  hidden: number;
  heads: number;
  kvHeads: number;
  vocabSize: number;
  maxPositions: number;
  parameters: number;
  dtypes: string[];
  /** Weights on the GPU (f32), MiB. */
  weightMiB: number;
  /** Most tokens one forward pass can take on this device. */
  maxTokens: number;
  hasChatTemplate: boolean;
  eosId: number | null;
  /** Tensors in the files that the model does not use. */
  unused: string[];
}

export interface GenerateRequest {
  /** Raw prompt text, or a conversation rendered with the model's chat template. */
  prompt: string | ChatMessage[];
  maxNewTokens: number;
  temperature?: number;
  topP?: number;
  seed?: number;
}

export interface GenerateResult {
  promptIds: number[];
  ids: number[];
  text: string;
}

export interface FinetuneRequest {
  adapter: AdapterConfig;
  /** A fixed batch, reused every step (the full data pipeline comes with the training engine). */
  batch: TrainBatch;
  steps: number;
  hyper: TrainHyper;
  /** Seed of the adapters' initial values (METHOD.md's initialisation). */
  seed: number;
}

export interface FinetuneResult {
  losses: number[];
  /** Router statistics of the last step per adapted layer (gated and routed methods). */
  routerStats: Awaited<ReturnType<import('../train/trainer.ts').GpuTrainer['routerStats']>>;
}

export type EngineEvent =
  | { type: 'gpu-error'; error: GpuErrorReport }
  | { type: 'file'; progress: FileProgress }
  | { type: 'upload'; progress: UploadProgress }
  | { type: 'token'; id: number; text: string }
  /** Import progress (throttled to a few per second). */
  | { type: 'dataset-progress'; progress: ReadProgress }
  /** The dataset after a model change re-tokenized it (or why it could not be). */
  | { type: 'dataset'; result: ImportResult | null; error?: string };

export interface EngineApi {
  /** Acquires the device inside the worker; never throws for a missing GPU, it says why. */
  init(onEvent: (e: EngineEvent) => void): Promise<GpuInitResult>;
  /** Opens, validates and uploads a model. On failure the previous model stays loaded. */
  loadModel(source: ModelSource): Promise<ModelInfo>;
  unloadModel(): Promise<void>;
  tokenize(text: string, addSpecialTokens?: boolean): Promise<number[]>;
  detokenize(ids: number[]): Promise<string>;
  /** Logits (T, V) of one sequence, row-major. */
  logits(ids: number[]): Promise<Float32Array>;
  generate(req: GenerateRequest): Promise<GenerateResult>;
  /** One adapted layer's forward and backward through the real WGSL kernels (tests, benchmarks). */
  adapterLayer(spec: AdapterSpec, tensors: AdapterLayerTensors): Promise<AdapterLayerResult>;
  /**
   * Reads, validates and (with a model loaded) tokenizes a dataset; it replaces the current one
   * only on success. Resolves to the counts and problems; rejects when no row is usable.
   */
  importDataset(input: DatasetInput, options?: ImportOptions): Promise<ImportResult>;
  /** The current dataset's import result (null: none). */
  datasetInfo(): Promise<ImportResult | null>;
  /** The next batches exactly as the trainer would receive them, without moving the cursor. */
  peekBatches(req: PeekRequest): Promise<DatasetBatch[]>;
  /** Attaches fresh adapters to the loaded model and trains them on one batch; resolves to each step's loss. */
  finetune(req: FinetuneRequest): Promise<FinetuneResult>;
}
