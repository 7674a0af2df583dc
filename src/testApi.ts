// The typed test API on window.mor1e (dev and test builds only; see README, Testing). Each call
// goes through the same store actions and worker API as the UI.
import type { GpuState } from './ui/store/gpuSlice.ts';
import type { GpuErrorReport } from './gpu/engine.ts';
import type { FinetuneRequest, FinetuneResult, GenerateRequest, GenerateResult, ModelInfo, ModelSource } from './worker/api.ts';
import type { ModelState } from './ui/store/modelSlice.ts';
import type { AdapterSpec } from './reference/adapter.ts';
import type { AdapterLayerResult, AdapterLayerTensors } from './adapters/layerRun.ts';
import type { DatasetBatch, ImportOptions, ImportResult, PeekRequest } from './data/types.ts';
import type { DataState } from './ui/store/dataSlice.ts';

export interface Mor1eTestApi {
  gpuStatus(): GpuState;
  gpuErrors(): GpuErrorReport[];
  /** Loads a model from a URL prefix (a folder served over HTTP) or any ModelSource; rejects with the UI's error message. */
  loadModel(source: string | ModelSource): Promise<ModelInfo>;
  modelState(): ModelState;
  /** Token ids of `text` with the loaded model's tokenizer (special tokens added as it does). */
  tokenize(text: string, addSpecialTokens?: boolean): Promise<number[]>;
  /** Logits (T, V) of one sequence, row-major, from the real GPU forward pass. */
  logits(ids: number[]): Promise<Float32Array>;
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
}

declare global {
  interface Window {
    mor1e?: Mor1eTestApi;
  }
}
