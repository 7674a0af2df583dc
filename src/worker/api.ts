// The one typed API between the UI and the engine worker (types only; no code runs here).
// Calls are coarse; progress, tokens and GPU errors arrive through the one callback given to
// init(). Big arrays (logits) come back transferred.
import type { AdapterDescription, GpuUnavailableReason, OptionalFeature } from '../gpu/device.ts';
import type { GpuErrorReport } from '../gpu/engine.ts';
import type { FileProgress, NamedBlob } from '../model/sources.ts';
import type { UploadProgress } from '../model/gpuModel.ts';
import type { CausalModelSpec } from '../model/config.ts';
import type { ChatMessage } from '../model/tokenizer.ts';
import type { AdapterSpec } from '../adapters/spec.ts';
import type { AdapterLayerResult, AdapterLayerTensors } from '../adapters/layerRun.ts';
import type { AdapterConfig, TrainBatch, TrainHyper } from '../train/config.ts';
import type { DatasetBatch, DatasetInput, ImportOptions, ImportResult, PeekRequest, PreviewRequest, PreviewResult } from '../data/types.ts';
import type { ReadProgress } from '../data/records.ts';
import type { KmeansRequest, KmeansResult } from '../intuition/kmeans.ts';
import type { IntuitionProgress, IntuitionRequest, IntuitionResult } from '../intuition/intuition.ts';
import type { ClusterMap } from '../intuition/diagnostics.ts';
import type { MetricRow, RunConfig, RunState } from '../train/run.ts';
import type { RunRecord } from '../train/checkpoint.ts';
import type { EvalResult } from '../train/evaluate.ts';

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
  /** The normalised config, so the UI can size adapters (trainable parameters, memory) before a run. */
  spec: CausalModelSpec;
}

/** A loaded sentence encoder (BERT family), used beside the model for the intuition's embeddings. */
export interface EncoderInfo {
  source: string;
  /** Embedding width C. */
  hidden: number;
  layers: number;
  /** Longest token sequence (special tokens included); longer texts are truncated to it. */
  maxPositions: number;
  vocabSize: number;
}

export interface EmbedOptions {
  /** Sequences per GPU pass (default 32; fewer where the device's per-buffer limit requires). */
  batchSize?: number;
}

export interface GenerateRequest {
  /** Raw prompt text, or a conversation rendered with the model's chat template. */
  prompt: string | ChatMessage[];
  maxNewTokens: number;
  temperature?: number;
  topP?: number;
  seed?: number;
  /** Through the trained adapter (default: whenever one exists); false: the base model. */
  adapter?: boolean;
  /** The prompt's intuition scores (k); default: the prompt embedded and scored like the training rows, or zeros without an intuition. */
  s?: number[];
}

export interface GenerateResult {
  promptIds: number[];
  ids: number[];
  text: string;
}

export interface FinetuneRequest {
  adapter: AdapterConfig;
  /** A fixed batch, reused every step (real runs: startRun). */
  batch: TrainBatch;
  /** Instead of `batch`: micro-batches whose gradients add up into each step (accumulation). */
  microBatches?: TrainBatch[];
  /** Also return the last step's gradients (read back after the step; the update leaves them as they were). */
  returnGrads?: boolean;
  steps: number;
  hyper: TrainHyper;
  /** Seed of the adapters' initial values (METHOD.md's initialisation). */
  seed: number;
  /** Most bytes of logits at once (the head and loss run in chunks of tokens; default 64 MiB). */
  logitChunkBytes?: number;
  /** Most dispatches per command buffer during these steps (Engine.maxDispatchesPerSubmit; 0: one per micro-batch, the last shared with the update). */
  maxDispatchesPerSubmit?: number;
}

export interface FinetuneResult {
  losses: number[];
  /** The adapter parameters after the last step, per adapted layer (WrA stacked, B, gates, M). */
  params?: Record<string, { WrA: number[]; B: number[] }>;
  /** With returnGrads: the last step's gradients per adapted layer ([W_r; A] stacked, B, [w_omega, w_beta], M). */
  grads?: Record<string, { WrA: number[]; B: number[]; gates: number[] | null; M: number[] | null }>;
  /**
   * Pooled GPU memory of the steps: the measured peak of pooled buffers (activations, temporaries,
   * readbacks) above what was live before, and src/train/memory.ts's estimate of it.
   */
  memory: { peakPoolBytes: number; estimatedBytes: number };
  /** Command buffers the steps were submitted as. */
  submissions: number;
  /** Per step: bind groups created, and reused from an earlier step (Engine.dispatch's cache). */
  bindGroups: Array<{ created: number; reused: number }>;
  /** Router statistics of the last step per adapted layer (gated and routed methods). */
  routerStats: Awaited<ReturnType<import('../train/trainer.ts').GpuTrainer['routerStats']>>;
}

export type EngineEvent =
  | { type: 'gpu-error'; error: GpuErrorReport }
  | { type: 'file'; progress: FileProgress }
  | { type: 'upload'; progress: UploadProgress }
  /** Loading the sentence encoder: a file's download or a tensor's upload (kept apart from the model's). */
  | { type: 'encoder-progress'; file?: FileProgress; upload?: UploadProgress }
  | { type: 'token'; id: number; text: string }
  /** Import progress (throttled to a few per second). */
  | { type: 'dataset-progress'; progress: ReadProgress }
  /** The dataset after a model change re-tokenized it (or why it could not be). */
  | { type: 'dataset'; result: ImportResult | null; error?: string }
  /** The intuition's progress (embedding, clustering, the UMAP map) and the map's frames as UMAP runs. */
  | { type: 'intuition-progress'; progress: IntuitionProgress }
  | { type: 'cluster-map'; map: ClusterMap }
  /**
   * A finished intuition (asked for directly or by startRun), with each map point's task and the
   * start of its prompt, so the cluster map can colour by task and show the text on hover.
   */
  | { type: 'intuition'; result: IntuitionResult; taskNames: string[]; pointTasks: Int32Array; pointTexts: string[] }
  /** A training run's new metric rows (every step's row, a few times a second) and its state. */
  | { type: 'run-metrics'; rows: MetricRow[]; state: RunState }
  /**
   * The active adapter changed (loadAdapter, unloadAdapter, startRun, restoreRun, loadModel): a
   * loaded one (`info` describes it), a run's (`config` and `state` are that run's: a restored run
   * waits paused and sends no metrics until it resumes), or none. 'loaded' and null mean the worker
   * freed the last run's adapter: that run is gone (its checkpoint stays in the saved runs).
   */
  | { type: 'adapter'; source: 'loaded' | 'run' | null; info: AdapterInfo | null; config: RunConfig | null; state: RunState | null };

/** A file of an adapter folder (export, import): its path inside the folder and its bytes. */
export interface AdapterFile {
  name: string;
  bytes: Uint8Array;
}

export interface ExportRequest {
  /**
   * 'adapter': PEFT LoRA (LoRA) or the mor1e format (T-REX, MoR1E, MoLoRA, SiRA); 'merged': a full
   * HF model folder with the LoRA merged into the weights (LoRA only); 'per-cluster': one static
   * PEFT LoRA per intuition cluster (routed methods), clusters.json and report.json (validation
   * accuracy of each static LoRA against the dynamic adapter on its cluster's rows).
   */
  kind: 'adapter' | 'merged' | 'per-cluster';
}

/** What loadAdapter loaded. */
export interface AdapterInfo {
  format: 'peft' | 'mor1e';
  method: AdapterConfig['method'];
  config: AdapterConfig;
  /** Adapted linear layers. */
  layers: number;
  /** Trainable parameters. */
  parameters: number;
  intuition: { source: string; k: number | null; dim: number | null; layer: number | null; encoder: string | null } | null;
  baseModel: string | null;
  warnings: string[];
}

export interface LogitsOptions {
  /** The intuition scores (E, or k) to use instead of scoring the decoded ids. */
  s?: number[];
  /** false: the base model; default: through the active adapter when there is one. */
  adapter?: boolean;
}

export interface EvaluateRequest {
  split: 'train' | 'validation';
  /** true: the model with the run's (or loaded) adapter; false: the base model. */
  adapter: boolean;
  /** At most this many rows per task (default: all). */
  limit?: number;
  batchSize?: number;
}

/** One prompt through the model with the active adapter, reading each adapted layer's routing back. */
export interface RoutingRequest {
  /** The prompt text (what the playground would generate from). */
  prompt: string;
  /** Render it as one user turn with the model's chat template, or the instruction template without one (as the rows were in training). */
  template?: boolean;
  /** The intuition scores (E, or k) to route with; default: the prompt scored like the training rows (zeros without an intuition). */
  s?: number[];
  /** Most prompt tokens kept (default 128; a longer prompt keeps its first ones). */
  maxTokens?: number;
}

export interface RoutingLayer {
  /** The adapted layer, "block.module" (e.g. "2.q"). */
  key: string;
  /**
   * (T, E) row-major: the weight each expert gets per token, as the adapter mixes them (METHOD.md
   * §1: T-REX / MoR1E g = 32 w p + 4 (1 − w) s on the kept experts; MoLoRA / SiRA their mixing
   * probabilities), read back from the layer's saved routing on the GPU.
   */
  g: Float32Array;
  /** (T, E) the router's softmax probabilities p per token. */
  p: Float32Array;
}

export interface RoutingResult {
  method: AdapterConfig['method'];
  /** Experts per layer (0: the method has no router, LoRA). */
  E: number;
  /** The prompt's tokens (ids and each one's text) after templating, in order. */
  tokens: Array<{ id: number; text: string }>;
  /** Tokens of the prompt left out beyond maxTokens. */
  dropped: number;
  /** The intuition scores the gates read (null: the method has no intuition gate). */
  s: number[] | null;
  /** Where `s` came from: given, scored by the intuition, or zeros (no intuition for this adapter). */
  sSource: 'given' | 'intuition' | 'zeros' | null;
  layers: RoutingLayer[];
}

/** A prompt's intuition scores as generation through the active adapter would use them. */
export type PromptIntuition =
  | { ok: true; k: number; s: number[]; source: 'model' | 'encoder' | 'supplied' }
  /** Why there are none: no adapter, an adapter without an intuition gate, no intuition computed for it, or one from supplied vectors (a typed prompt has none). */
  | { ok: false; reason: 'no-adapter' | 'no-gate' | 'no-intuition' | 'supplied'; message: string };

export interface EngineApi {
  /** Acquires the device inside the worker; never throws for a missing GPU, it says why. */
  init(onEvent: (e: EngineEvent) => void): Promise<GpuInitResult>;
  /** Opens, validates and uploads a model. On failure the previous model stays loaded. */
  loadModel(source: ModelSource): Promise<ModelInfo>;
  /**
   * Opens, validates and uploads a sentence encoder (BERT: config.json with model_type "bert",
   * safetensors, tokenizer.json) from the same sources as loadModel. It sits beside the model;
   * on failure the previous encoder stays loaded.
   */
  loadEncoder(source: ModelSource): Promise<EncoderInfo>;
  /**
   * L2-normalised mean-pooled sentence embeddings (N, hidden), row-major, of `texts` through
   * the loaded encoder: tokenized with its tokenizer (special tokens added), truncated to its
   * positions, batched by length on the GPU.
   */
  embedTexts(texts: string[], opts?: EmbedOptions): Promise<Float32Array>;
  unloadModel(): Promise<void>;
  tokenize(text: string, addSpecialTokens?: boolean): Promise<number[]>;
  detokenize(ids: number[]): Promise<string>;
  /** Logits (T, V) of one sequence, row-major, through the active adapter unless `adapter: false`. */
  logits(ids: number[], opts?: LogitsOptions): Promise<Float32Array>;
  /** The active adapter (a run's or a loaded one) as files in one of the export formats. */
  exportAdapter(req: ExportRequest): Promise<AdapterFile[]>;
  /**
   * Loads an adapter (PEFT LoRA or the mor1e format) from a URL prefix or files, validated against
   * the loaded model; it becomes the active adapter (a finished run's adapter is dropped).
   */
  loadAdapter(source: string | { kind: 'files'; files: Array<{ name: string; bytes: Uint8Array | Blob }> }): Promise<AdapterInfo>;
  /** Drops the active adapter (refused while a run is running or paused). */
  unloadAdapter(): Promise<void>;
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
  /** A page of the current dataset's rows as text (instruction, output, task, line), for a preview; rejects without a dataset. */
  previewRows(req: PreviewRequest): Promise<PreviewResult>;
  /** The next batches exactly as the trainer would receive them, without moving the cursor. */
  peekBatches(req: PeekRequest): Promise<DatasetBatch[]>;
  /** Attaches fresh adapters to the loaded model and trains them on one batch; resolves to each step's loss. */
  finetune(req: FinetuneRequest): Promise<FinetuneResult>;
  /**
   * k-means on the GPU (k-means++ from the seed, Lloyd iterations, restarts keeping the lowest
   * inertia): the intuition's clustering. Rejects with a message naming a bad argument.
   */
  kmeans(req: KmeansRequest): Promise<KmeansResult>;
  /**
   * The intuition on the imported dataset (METHOD.md §2): embeds every row's prompt (the model at
   * a block, a sentence encoder, or the rows' `emb`), clusters the training rows with k-means on
   * the GPU, scores every row s = C e (the batches carry them from now on), and reports cluster
   * sizes, inertia, purity / NMI against tasks, and a 2-D map.
   */
  intuition(req: IntuitionRequest): Promise<IntuitionResult>;
  /**
   * Starts a training run on the imported dataset (computing the intuition first when the
   * configuration asks for it); resolves once it is running. Progress arrives as 'run-metrics'.
   */
  startRun(config: RunConfig): Promise<RunState>;
  pauseRun(): Promise<RunState>;
  resumeRun(): Promise<RunState>;
  stopRun(): Promise<RunState>;
  runState(): Promise<RunState>;
  /** Every step's metric row so far (a bounded history). */
  metrics(): Promise<MetricRow[]>;
  /** The router statistics of the run's last step, per adapted layer and task group. */
  routerStats(): Promise<FinetuneResult['routerStats']>;
  /** Per-task accuracy (greedy letters / exact match, and choice likelihood) with or without the adapter. */
  evaluate(req: EvaluateRequest): Promise<EvalResult>;
  /**
   * Fault injection for tests: destroys the loaded model's embedding weights on the GPU, so the
   * next step's submission fails validation (the model must be loaded again afterwards).
   */
  forceGpuError(): Promise<void>;
  /** Runs saved in this browser's private file system. */
  runs(): Promise<RunRecord[]>;
  /** Loads a saved run's latest checkpoint (same model and dataset loaded); resumeRun() continues it. */
  restoreRun(id: string): Promise<RunState>;
  /** L2-normalised mean-pooled hidden states (N x hidden) of texts through the loaded model, after block `layer` (default the middle one). */
  modelEmbeddings(texts: string[], layer?: number): Promise<Float32Array>;
  /** Intuition scores (N x k) of prompts typed now, embedded and scored like the training rows. */
  intuitionScores(texts: string[]): Promise<Float32Array>;
  /**
   * A prompt's intuition scores as generation through the active adapter would use them (the
   * playground's cluster scores), or why there are none. Refused while a run is training.
   */
  promptIntuition(prompt: string): Promise<PromptIntuition>;
  /**
   * The prompt through the model with the active adapter (the run's or a loaded one), reading
   * back each adapted layer's per-token routing (the adapter kernels' saved route buffer).
   * An adapter without a router (LoRA) resolves with E = 0 and no layers. Rejects without an
   * adapter and while a run trains.
   */
  routing(req: RoutingRequest): Promise<RoutingResult>;
}
