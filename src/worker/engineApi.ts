// The engine: owns the GPUDevice, the Engine, the loaded model and the sentence encoder
// (intuition embeddings, loaded beside the model) and implements EngineApi. The app runs it in a
// Web Worker (engine.worker.ts exposes it through comlink); Node entry points on GPU machines
// without a browser (compare-node) call it directly, with Dawn's GPU. What differs between the
// two is the host (setEngineHost). Events (progress, tokens, GPU errors) go out through init()'s callback.
import * as Comlink from 'comlink';
import { acquireDevice, adapterName, GpuUnavailableError } from '../gpu/device.ts';
import { Engine } from '../gpu/engine.ts';
import type { ShaderSources } from '../gpu/engine.ts';
import { openEncoder, openModel, type OpenedEncoder, type OpenedModel } from '../model/load.ts';
import { GpuEncoder } from '../model/encoder.ts';
import { GpuModel } from '../model/gpuModel.ts';
import { filesFromBlobs, filesFromHub, filesFromUrl, modelCache, type FileProgress, type ModelFiles } from '../model/sources.ts';
import { generate } from '../model/generate.ts';
import { runAdapterLayer } from '../adapters/layerRun.ts';
import { GpuTrainer, initAdapterParams } from '../train/trainer.ts';
import { Dataset, type TokenizerInfo } from '../data/dataset.ts';
import type { ReadProgress } from '../data/records.ts';
import { kmeansGpu } from '../intuition/kmeans.ts';
import { computeIntuition, scorePrompts, type IntuitionModel } from '../intuition/intuition.ts';
import { EmbeddingCache, ModelEmbedder, type Embedder } from '../intuition/embed.ts';
import { adapterConfigOf, Run, RunError, type RunConfig, type RunHooks } from '../train/run.ts';
import { listRuns, readCheckpoint, restoredIntuition, writeCheckpoint, type RunRecord } from '../train/checkpoint.ts';
import { estimateStep } from '../train/memory.ts';
import { evaluateItems, type EvalItem, type LogitsSource } from '../train/evaluate.ts';
import { adapterDims } from '../adapters/spec.ts';
import { adaptedLayers, adapterConfigDiff, layerSpec, type TrainBatch } from '../train/config.ts';
import { PARAM_FIELDS, type AdapterParams } from '../adapters/params.ts';
import { ADAPTER_FILES, exportAdapter, exportMerged, exportPerCluster, importAdapter, staticLoRA, type AdapterExport, type ExportFile, type IntuitionRecord } from '../export/index.ts';
import { embeddingText } from '../intuition/embed.ts';
import type { AdapterInfo, EncoderInfo, EngineApi, EngineEvent, FinetuneResult, GenerateRequest, GenerateResult, GpuInitResult, ModelInfo, ModelSource, RoutingLayer, RoutingRequest, RoutingResult } from './api.ts';

/** What the engine needs from where it runs. */
export interface EngineHost {
  /** navigator.gpu in a worker; Dawn's GPU in Node. */
  gpu(): GPU | undefined;
  /** Every WGSL source (bundled by Vite, or read from shaders/ in Node). */
  shaders: ShaderSources;
  /** The base that relative URLs (loadAdapter's prefix) resolve against. */
  baseUrl(): string;
  /** Whether runs write checkpoints (the origin-private file system; a browser only). */
  checkpoints: boolean;
}

let host: EngineHost | null = null;

/** Sets where the engine runs; called once, before api.init. */
export function setEngineHost(h: EngineHost): void {
  host = h;
}

function needHost(): EngineHost {
  if (!host) throw new Error('The engine has no host: setEngineHost first');
  return host;
}

let engine: Engine | null = null;
let emit: (e: EngineEvent) => void = () => {};
let loaded: { opened: OpenedModel; gpu: GpuModel; info: ModelInfo; files: ModelFiles } | null = null;
/** The sentence encoder (intuition embeddings), independent of the model. */
let encoder: { opened: OpenedEncoder; gpu: GpuEncoder; info: EncoderInfo } | null = null;
let dataset: Dataset | null = null;
/** The clustering behind the dataset's scores, kept to score new prompts the same way. */
let intuitionModel: IntuitionModel | null = null;
/** The last intuition's embeddings (another k, seed or method on the same data reuses them). */
const embeddingCache = new EmbeddingCache();

/** The current (or last) training run; its trainer holds the adapter after the run ends. */
let run: Run | null = null;
/**
 * An adapter loaded from files (loadAdapter), until a run starts or is restored, or it is unloaded;
 * `scorer`: its own clustering (centroids and embedding source) to score typed prompts, or null.
 */
let imported: { trainer: GpuTrainer; intuition: IntuitionRecord | null; info: AdapterInfo; scorer: IntuitionModel | null } | null = null;

/** The clustering that scores prompts for the active adapter: a loaded adapter's own, else the dataset's (a run's). */
function scorer(): IntuitionModel | null {
  return imported ? imported.scorer : intuitionModel;
}

/** The adapter that logits, generation, evaluation and export use: the imported one, else the run's. */
function activeAdapter(): { trainer: GpuTrainer; intuition: IntuitionRecord | null } | null {
  if (imported) return imported;
  if (!run) return null;
  const t = run.trainer;
  // A gated adapter trained without an intuition routes with zero scores: its record says so.
  return { trainer: t, intuition: t.gated ? (intuitionModel ?? { source: 'none', k: t.K, dim: null, layer: null, encoder: null }) : null };
}

function needAdapter(what: string): { trainer: GpuTrainer; intuition: IntuitionRecord | null } {
  const a = activeAdapter();
  if (!a) throw new Error(`${what}: no adapter; train one (startRun) or load one (loadAdapter)`);
  return a;
}

/** Tells the page which adapter is active now (after every change of `imported` or `run`). */
function adapterChanged(): void {
  const r = imported ? null : run;
  emit({ type: 'adapter', source: imported ? 'loaded' : run ? 'run' : null, info: imported?.info ?? null, config: r?.config ?? null, state: r?.state() ?? null });
}

/** The run that still owns its adapter ('running' or 'paused'), or null. */
function activeRun(): 'running' | 'paused' | null {
  const st = run?.state().status;
  return st === 'running' || st === 'paused' ? st : null;
}

/** Frees the imported adapter and a finished run's adapter (a running or paused run is refused). */
function dropAdapter(): void {
  const busy = activeRun();
  if (busy) throw new RunError(`a run is ${busy}: stop it first`);
  imported?.trainer.destroy();
  imported = null;
  run?.trainer.destroy();
  run = null;
}

/** The intuition scores (k) of prompts for a gated adapter: given, scored like the training rows, or zeros. */
async function promptScores(texts: string[], k: number): Promise<number[][]> {
  const sc = scorer();
  const model = sc && sc.k === k ? sc : null;
  if (!model) return texts.map(() => new Array<number>(k).fill(0));
  const s = await scorePrompts(model, texts);
  return texts.map((_, i) => Array.from(s.subarray(i * k, (i + 1) * k)));
}

/** The width of an adapter's intuition scores (E, or the mapper's k), 0 for ungated methods. */
function scoreWidth(t: GpuTrainer): number {
  return t.gated ? t.K : 0;
}

/** The base model's config.json bytes (hashed into exports) and the tokenizer files a merged export copies. */
async function modelFileBytes(names: string[]): Promise<ExportFile[]> {
  const out: ExportFile[] = [];
  for (const name of names) {
    const b = await needModel().files.open(name);
    if (b) out.push({ name, bytes: new Uint8Array(await b.arrayBuffer()) });
  }
  return out;
}

const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'generation_config.json', 'vocab.json', 'merges.txt', 'tokenizer.model'];

/**
 * Per-cluster export's routing means: every training row's cluster is the largest of its
 * intuition scores; forward passes over up to `maxRows` rows per cluster give each layer's mean
 * routing weights per cluster. Then each cluster's static LoRA is scored against the dynamic
 * adapter on that cluster's validation rows (report.json).
 */
async function perClusterExport(a: AdapterExport, trainer: GpuTrainer, maxRows = 256): Promise<ExportFile[]> {
  const ds = needDataset(), m = needModel();
  if (!adapterDims(layerSpec(a.cfg, adaptedLayers(m.gpu.spec, a.cfg)[0].lin, 1)).E) throw new Error('per-cluster export: a LoRA has no routing to freeze; export it as it is');
  const k = ds.intuitionK;
  if (!k) throw new Error('per-cluster export: the dataset has no intuition scores; compute the intuition (or train with one) first');
  const clusterOf = (rows: number[]) => {
    const s = ds.scoresOf(rows)!;
    return rows.map((_, i) => {
      let best = 0;
      for (let c = 1; c < k; c++) if (s[i * k + c] > s[i * k + best]) best = c;
      return best;
    });
  };
  const train = ds.rows('train'), cl = clusterOf(train);
  const seen = new Array<number>(k).fill(0), pick: number[] = [], task: number[] = [];
  train.forEach((r, i) => {
    if (seen[cl[i]]++ >= maxRows) return;
    pick.push(r);
    task.push(cl[i]);
  });
  const batches: TrainBatch[] = [];
  for (let i = 0; i < pick.length; i += 8) batches.push({ ...ds.rowsBatch(pick.slice(i, i + 8)), task: task.slice(i, i + 8) });
  const means = await trainer.meanRouting(batches, k);
  const meanRouting = new Map([...means].map(([key, v]) => [key, Float32Array.from(v.G)]));
  const tokens = Array.from(means.values().next().value!.tokens);
  const files = await exportPerCluster(a, { meanRouting, tokens });
  // How far each static LoRA is from the dynamic adapter on its cluster's validation rows.
  const val = ds.rows('validation'), vcl = val.length ? clusterOf(val) : [];
  const report: Array<{ cluster: number; n: number; dynamic: number | null; static: number | null }> = [];
  const tok = m.opened.tokenizer;
  const scorer = { decode: (ids: number[]) => tok.decode(ids), letterId: (l: string) => tok.encode(l, false)[0], eosId: m.info.eosId };
  const opts = { batchSize: 8, answerTokens: (ex: EvalItem['ex']) => tok.encode(ex.answer, false).length };
  const d = adapterDims(layerSpec(a.cfg, adaptedLayers(m.gpu.spec, a.cfg)[0].lin, 1));
  const r = a.cfg.method === 'trex' ? d.rB : d.rA;
  for (let c = 0; c < k; c++) {
    const rows = val.filter((_, i) => vcl[i] === c);
    if (!rows.length) {
      report.push({ cluster: c, n: 0, dynamic: null, static: null });
      continue;
    }
    const items = (gated: boolean): EvalItem[] => rows.map((row) => ({ row, task: 'cluster', ex: ds.examples[row], promptIds: ds.promptIds(row), s: gated ? ds.scoresOf([row]) : null }));
    const V = m.gpu.spec.vocabSize;
    const dyn = await evaluateItems({ vocabSize: V, nextLogits: (q, s) => trainer.nextLogits(q, s) }, scorer, items(true), opts);
    const staticParams = new Map<string, AdapterParams<Float64Array>>();
    for (const { key, lin } of adaptedLayers(m.gpu.spec, a.cfg)) {
      const st = staticLoRA(layerSpec(a.cfg, lin, 1), a.params.get(key)!, meanRouting.get(key)!.subarray(c * d.E, (c + 1) * d.E));
      staticParams.set(key, { A: st.A, B: st.B, Wr: null, wOmega: null, wBeta: null, M: null });
    }
    const lora = new GpuTrainer(needEngine(), m.gpu, { method: 'lora', r, alpha: r, targets: a.cfg.targets }, staticParams);
    try {
      const st = await evaluateItems({ vocabSize: V, nextLogits: (q) => lora.nextLogits(q, null) }, scorer, items(false), opts);
      report.push({ cluster: c, n: rows.length, dynamic: dyn.mean, static: st.mean });
    } finally {
      lora.destroy();
    }
  }
  files.push({ name: 'report.json', bytes: new TextEncoder().encode(JSON.stringify({ split: 'validation', clusters: report }, null, 2) + '\n') });
  return files;
}

/** GPU work from the UI (routing, prompt scores) waits for no step: it is refused while a run trains. */
function notWhileTraining(what: string): void {
  if (run?.state().status === 'running') throw new RunError(`${what}: a run is training; pause it (or let it finish) first`);
}

/**
 * One sequence through the model with the adapter (the trainer's inference hook: the same kernels
 * as training and generation, its statistics untouched); each adapted layer's saved routing
 * (route = p | pk | g per token) is copied out as its forward is recorded and read back after.
 */
async function readRouting(t: GpuTrainer, ids: number[], s: number[] | null): Promise<RoutingLayer[]> {
  const e = needEngine(), T = ids.length, E = t.E;
  if (!E) return [];
  const routes = new Map<string, GPUBuffer>();
  try {
    const hook = t.inferenceHook(1, T, s ? [s] : null, (key, saved) => {
      const keep = e.createBuffer(`routing.${key}.route`, T * 3 * E * 4);
      e.copy(saved.route, keep, T * 3 * E * 4);
      routes.set(key, keep);
    });
    await t.model.logits(ids, hook);
    const out: RoutingLayer[] = [];
    for (const { key } of adaptedLayers(t.model.spec, t.cfg)) {
      const buf = routes.get(key);
      if (!buf) continue;
      const v = await e.read(buf, T * 3 * E * 4);
      const g = new Float32Array(T * E), p = new Float32Array(T * E);
      for (let i = 0; i < T; i++) {
        p.set(v.subarray(i * 3 * E, i * 3 * E + E), i * E);
        g.set(v.subarray(i * 3 * E + 2 * E, i * 3 * E + 3 * E), i * E);
      }
      out.push({ key, g, p });
    }
    return out;
  } finally {
    await e.submit();
    for (const b of routes.values()) b.destroy();
  }
}

function needRun(): Run {
  if (!run) throw new Error('No training run: startRun first (or restoreRun a saved one)');
  return run;
}

/** Computes the intuition a run asks for (the batches then carry s): the request as run, or null. */
async function intuitionFor(cfg: RunConfig, E: number): Promise<NonNullable<RunConfig['intuition']> | null> {
  if (!cfg.intuition) return null;
  const req = { ...cfg.intuition, k: cfg.intuition.k ?? E, seed: cfg.intuition.seed ?? cfg.seed };
  const { center } = await api.intuition(req);
  return { ...req, center };
}

/** Per run: when it was created and the intuition it used (with its effective k, seed and centring). */
const runCreated = new Map<string, string>();
const runIntuition = new Map<string, RunConfig['intuition'] | null>();
/**
 * Per run: the model and dataset it trains, as its checkpoints record them (taken when it starts
 * or is restored: a dataset imported while it is paused, to evaluate on, is not the run's).
 */
const runTrains = new Map<string, Pick<RunRecord, 'model' | 'dataset'>>();

function trainsOf(id: string): Pick<RunRecord, 'model' | 'dataset'> {
  const t = runTrains.get(id);
  if (!t) throw new Error(`checkpoint: run ${id} has no record of its model and dataset`);
  return t;
}

function runHooks(): RunHooks {
  if (!needHost().checkpoints) return { onMetrics: (rows, state) => emit({ type: 'run-metrics', rows, state }) };
  return {
    onMetrics: (rows, state) => emit({ type: 'run-metrics', rows, state }),
    onCheckpoint: async (r: Run, status) => {
      const st = r.state();
      await writeCheckpoint(
        {
          id: r.id, created: runCreated.get(r.id) ?? new Date().toISOString(), config: r.config, ...trainsOf(r.id),
          intuition: runIntuition.get(r.id) ?? null, k: r.adapter.k ?? null,
          status, step: st.step, totalSteps: st.totalSteps,
        },
        await r.trainer.saveState(), r.cursor!, r.metrics(), r.elapsedSeconds,
      );
    },
  };
}

/** The loaded encoder as an Embedder, in chunks with progress. */
function encoderEmbedder(): Embedder {
  if (!encoder) throw new Error('No sentence encoder is loaded: pass `encoder` (a URL prefix or hub id) or call loadEncoder first');
  const { opened, gpu, info } = encoder;
  return {
    source: 'encoder',
    dim: info.hidden,
    async embed(texts, onProgress) {
      const out = new Float32Array(texts.length * info.hidden);
      const CHUNK = 256;
      for (let i = 0; i < texts.length; i += CHUNK) {
        const seqs = texts.slice(i, i + CHUNK).map((t) => opened.tokenizer.encodeTruncated(t, opened.spec.maxPositions));
        out.set(await gpu.embedAll(seqs, 32), i * info.hidden);
        onProgress?.(Math.min(i + CHUNK, texts.length), texts.length);
      }
      return out;
    },
  };
}

function tokenizerInfo(): TokenizerInfo | null {
  if (!loaded) return null;
  return { tok: loaded.opened.tokenizer, eosId: loaded.info.eosId, maxPositions: loaded.opened.spec.maxPositions };
}

function needDataset(): Dataset {
  if (!dataset) throw new Error('No dataset is imported');
  return dataset;
}

/** Progress events at most every 100 ms (and the last one of each phase). */
function throttledProgress(): (p: ReadProgress) => void {
  let last = 0;
  return (progress) => {
    const now = Date.now();
    if (now - last < 100 && progress.loaded !== progress.total) return;
    last = now;
    emit({ type: 'dataset-progress', progress });
  };
}

function needEngine(): Engine {
  if (!engine) throw new Error('The GPU engine is not started (no WebGPU device)');
  if (engine.lost) throw new Error('The GPU device was lost; reload the page to start a new one');
  return engine;
}

function needModel(): NonNullable<typeof loaded> {
  if (!loaded) throw new Error('No model is loaded');
  return loaded;
}

async function sourceFiles(source: ModelSource, onProgress = (progress: FileProgress) => emit({ type: 'file', progress })): Promise<ModelFiles> {
  switch (source.kind) {
    case 'files':
      if (!source.files.length) throw new Error('No files were selected');
      return filesFromBlobs(source.files, source.label ?? 'the selected files');
    case 'url':
      return filesFromUrl(source.url, { onProgress });
    case 'hub':
      return filesFromHub(source.repo, { revision: source.revision, hubUrl: source.hubUrl, onProgress, cache: await modelCache() });
  }
}

function describe(opened: OpenedModel, gpu: GpuModel): ModelInfo {
  const s = opened.spec;
  return {
    source: opened.source, modelType: s.modelType, arch: s.arch, layers: s.layers, hidden: s.hidden, heads: s.heads, kvHeads: s.kvHeads,
    vocabSize: s.vocabSize, maxPositions: s.maxPositions, parameters: opened.parameters, dtypes: opened.dtypes,
    weightMiB: gpu.plan.weightBytes / 2 ** 20, maxTokens: gpu.plan.maxTokens, hasChatTemplate: opened.tokenizer.hasChatTemplate,
    eosId: opened.tokenizer.eosId ?? s.eosTokenIds[0] ?? null, unused: opened.unused, spec: s,
  };
}

export const api: EngineApi = {
  async init(onEvent) {
    emit = onEvent;
    if (engine && !engine.lost) engine.destroy();
    loaded = null;
    encoder = null;
    try {
      const h = needHost();
      const ctx = await acquireDevice(h.gpu());
      engine = new Engine(ctx, h.shaders);
      engine.onError((error) => emit({ type: 'gpu-error', error }));
      return { ok: true, adapter: ctx.adapter, adapterName: adapterName(ctx.adapter), features: ctx.features, limits: { ...ctx.limits } } satisfies GpuInitResult;
    } catch (e) {
      if (e instanceof GpuUnavailableError) return { ok: false, reason: e.reason, message: e.message };
      return { ok: false, reason: 'device-failed', message: `Starting the GPU engine failed: ${e instanceof Error ? e.message : String(e)}` };
    }
  },

  async loadModel(source) {
    const e = needEngine();
    // An adapter belongs to the model it was trained on or loaded for: a new model frees it, which a
    // running or paused run refuses (checked before the download; again after it, the run may have started meanwhile).
    const busy = activeRun();
    if (busy) throw new RunError(`a run is ${busy}: stop it before loading another model`);
    const files = await sourceFiles(source);
    const opened = await openModel(files);
    const gpu = await GpuModel.load(e, opened, (progress) => emit({ type: 'upload', progress }));
    try {
      dropAdapter();
    } catch (err) {
      gpu.destroy();
      throw err;
    }
    adapterChanged();
    loaded?.gpu.destroy();
    loaded = { opened, gpu, info: describe(opened, gpu), files };
    if (intuitionModel?.source === 'model') {
      // Scores from the old model's hidden states mean nothing to the new one.
      intuitionModel = null;
      dataset?.clearIntuitionScores();
    }
    if (dataset) {
      // Rows are tokenized with the model's tokenizer: a new model tokenizes them again.
      const ds = dataset;
      try {
        await ds.tokenize(tokenizerInfo()!, throttledProgress());
        emit({ type: 'dataset', result: ds.result() });
      } catch (e) {
        emit({ type: 'dataset', result: ds.result(), error: e instanceof Error ? e.message : String(e) });
      }
    }
    return loaded.info;
  },

  async unloadModel() {
    loaded?.gpu.destroy();
    loaded = null;
  },

  async loadEncoder(source) {
    const e = needEngine();
    const opened = await openEncoder(await sourceFiles(source, (file) => emit({ type: 'encoder-progress', file })));
    const gpu = await GpuEncoder.load(e, opened, (upload) => emit({ type: 'encoder-progress', upload }));
    encoder?.gpu.destroy();
    const s = opened.spec;
    encoder = { opened, gpu, info: { source: opened.source, hidden: s.hidden, layers: s.layers, maxPositions: s.maxPositions, vocabSize: s.vocabSize } };
    return encoder.info;
  },

  async embedTexts(texts, opts = {}) {
    if (!encoder) throw new Error('No sentence encoder is loaded (loadEncoder)');
    const { opened, gpu } = encoder;
    const seqs = texts.map((t) => opened.tokenizer.encodeTruncated(t, opened.spec.maxPositions));
    const out = await gpu.embedAll(seqs, opts.batchSize ?? 32);
    return Comlink.transfer(out, [out.buffer]);
  },

  async tokenize(text, addSpecialTokens = true) {
    return needModel().opened.tokenizer.encode(text, addSpecialTokens);
  },

  async detokenize(ids) {
    return needModel().opened.tokenizer.decode(ids);
  },

  async logits(ids, opts = {}) {
    const m = needModel();
    const a = opts.adapter === false ? null : activeAdapter();
    if (opts.adapter === true && !a) throw new Error('logits: no adapter; train one (startRun), load one (loadAdapter), or pass adapter: false');
    let hook = null;
    if (a) {
      const k = scoreWidth(a.trainer);
      const s = k ? (opts.s ?? (await promptScores([m.opened.tokenizer.decode(ids)], k))[0]) : null;
      if (s && s.length !== k) throw new Error(`logits: s must hold ${k} intuition scores, got ${s.length}`);
      hook = a.trainer.inferenceHook(1, ids.length, s ? [s] : null);
    }
    const out = await m.gpu.logits(ids, hook);
    return Comlink.transfer(out, [out.buffer]);
  },

  async generate(req: GenerateRequest): Promise<GenerateResult> {
    const m = needModel();
    const tok = m.opened.tokenizer;
    const text = typeof req.prompt === 'string' ? req.prompt : tok.chatPrompt(req.prompt, true);
    const promptIds = tok.encode(text, typeof req.prompt === 'string');
    const stopIds = [...new Set([...(m.info.eosId !== null ? [m.info.eosId] : []), ...m.opened.spec.eosTokenIds])];
    const onToken = (id: number) => emit({ type: 'token', id, text: tok.decode([id]) });
    const a = req.adapter === false ? null : activeAdapter();
    if (req.adapter === true && !a) throw new Error('No adapter: train one (startRun), load one (loadAdapter), or generate with adapter: false');
    let adapters: ((T: number) => ReturnType<GpuTrainer['inferenceHook']>) | undefined;
    if (a) {
      // Through the adapter (KV-cache decoding): the prompt's intuition scores as given, or embedded and scored like the training rows.
      const k = scoreWidth(a.trainer);
      let s: number[] | null = null;
      if (k) {
        const userText = typeof req.prompt === 'string' ? req.prompt : ([...req.prompt].reverse().find((x) => x.role === 'user')?.content ?? text);
        s = req.s ?? (await promptScores([userText], k))[0];
        if (s.length !== k) throw new Error(`generate: s must hold ${k} intuition scores, got ${s.length}`);
      }
      adapters = (T) => a.trainer.inferenceHook(1, T, s ? [s] : null);
    }
    const ids = await generate(m.gpu, promptIds, { ...req, stopIds }, onToken, adapters);
    return { promptIds, ids, text: tok.decode(ids) };
  },

  async exportAdapter(req) {
    const m = needModel(), a = needAdapter('exportAdapter');
    const [config] = await modelFileBytes(['config.json']);
    const ex: AdapterExport = { spec: m.opened.spec, cfg: a.trainer.cfg, params: await a.trainer.adapterParams(), base: { name: m.info.source, config: config?.bytes ?? null }, intuition: a.intuition };
    if (req.kind === 'adapter') return exportAdapter(ex);
    if (req.kind === 'merged') return exportMerged(ex, m.opened, [...(config ? [config] : []), ...(await modelFileBytes(TOKENIZER_FILES))]);
    if (req.kind === 'per-cluster') return perClusterExport(ex, a.trainer);
    throw new Error(`exportAdapter: kind must be "adapter", "merged" or "per-cluster", got ${JSON.stringify((req as { kind: unknown }).kind)}`);
  },

  async loadAdapter(source) {
    const m = needModel();
    let files: ExportFile[];
    if (typeof source === 'string') {
      const prefix = source.endsWith('/') ? source : `${source}/`;
      files = [];
      for (const name of ADAPTER_FILES) {
        const res = await fetch(new URL(name, new URL(prefix, needHost().baseUrl())));
        if (res.ok) files.push({ name, bytes: new Uint8Array(await res.arrayBuffer()) });
      }
      if (!files.length) throw new Error(`loadAdapter: no adapter files under ${prefix} (looked for ${ADAPTER_FILES.join(', ')})`);
    } else if (source?.kind === 'files') {
      files = await Promise.all(source.files.map(async (f) => ({ name: f.name, bytes: f.bytes instanceof Uint8Array ? f.bytes : new Uint8Array(await (f.bytes as Blob).arrayBuffer()) })));
    } else throw new Error('loadAdapter: give a URL prefix or { kind: "files", files: [{ name, bytes }] }');
    const [config] = await modelFileBytes(['config.json']);
    const imp = await importAdapter(files, { spec: m.opened.spec, config: config?.bytes ?? null, name: m.info.source });
    const trainer = new GpuTrainer(needEngine(), m.gpu, imp.config, imp.params);
    try {
      dropAdapter();
    } catch (e) {
      trainer.destroy();
      throw e;
    }
    const rec = imp.intuition;
    let own: IntuitionModel | null = null;
    if (rec && rec.source !== 'none' && rec.centroids && rec.k && rec.dim) {
      // Prompts typed later are scored with the adapter's own centroids and embedding source (the dataset's clustering stays for runs).
      const embedder = rec.source === 'model' ? new ModelEmbedder(m.gpu, m.opened.tokenizer, rec.layer ?? undefined) : rec.source === 'encoder' && encoder ? encoderEmbedder() : null;
      own = { source: rec.source, layer: rec.layer, encoder: rec.encoder, k: rec.k, dim: rec.dim, centroids: rec.centroids, mean: rec.mean ?? null, embedder };
    }
    const info: AdapterInfo = {
      format: imp.format, method: imp.config.method, config: imp.config, layers: imp.params.size, parameters: [...imp.params.values()].reduce((n, p) => n + PARAM_FIELDS.reduce((a2, f) => a2 + (p[f]?.length ?? 0), 0), 0),
      intuition: rec ? { source: rec.source, k: rec.k, dim: rec.dim, layer: rec.layer, encoder: rec.encoder } : null, baseModel: imp.baseModel, warnings: imp.warnings,
    };
    imported = { trainer, intuition: rec, info, scorer: own };
    adapterChanged();
    return info;
  },

  async unloadAdapter() {
    dropAdapter();
    adapterChanged();
  },

  async importDataset(input, options = {}) {
    const ds = await Dataset.import(input, options, tokenizerInfo(), throttledProgress());
    // A file of no known shape is reported (with its columns, for a mapping) but replaces nothing.
    if (ds.shape !== 'unknown') {
      dataset = ds;
      intuitionModel = null;
    }
    return ds.result();
  },

  async datasetInfo() {
    return dataset?.result() ?? null;
  },

  async previewRows(req) {
    return needDataset().preview(req);
  },

  async promptIntuition(prompt) {
    const a = activeAdapter();
    if (!a) return { ok: false, reason: 'no-adapter', message: 'No adapter: train one or load one to see the prompt\'s intuition scores' };
    const k = scoreWidth(a.trainer);
    if (!k) return { ok: false, reason: 'no-gate', message: `${a.trainer.cfg.method === 'lora' ? 'LoRA' : a.trainer.cfg.method === 'sira' ? 'SiRA' : 'MoLoRA'} has no intuition gate` };
    const sc = scorer();
    if (!sc || sc.k !== k) return { ok: false, reason: 'no-intuition', message: 'This adapter has no intuition: generation routes with zero scores (the router alone)' };
    if (!sc.embedder) return { ok: false, reason: 'supplied', message: 'This adapter\'s intuition came from supplied vectors (emb): a typed prompt has none, so it cannot be scored' };
    notWhileTraining('promptIntuition');
    const [s] = await promptScores([prompt], k);
    return { ok: true, k, s, source: sc.source };
  },

  async routing(req: RoutingRequest): Promise<RoutingResult> {
    const m = needModel(), a = activeAdapter();
    if (!a) throw new Error('No adapter to route with yet: train one (Train step, or startRun) or load one (Export step, or loadAdapter)');
    notWhileTraining('routing');
    const tok = m.opened.tokenizer;
    const text = req.template ? tok.chatPrompt([{ role: 'user', content: req.prompt }], true) : req.prompt;
    const all = tok.encode(text, !req.template);
    if (!all.length) throw new Error('routing: the prompt has no tokens');
    const max = Math.max(1, Math.min(req.maxTokens ?? 128, m.info.maxTokens, m.opened.spec.maxPositions));
    const ids = all.slice(0, max);
    const k = scoreWidth(a.trainer);
    let s: number[] | null = null, sSource: RoutingResult['sSource'] = null;
    if (k) {
      if (req.s) {
        if (req.s.length !== k) throw new Error(`routing: s must hold ${k} intuition scores, got ${req.s.length}`);
        s = req.s;
        sSource = 'given';
      } else {
        s = (await promptScores([req.prompt], k))[0];
        sSource = scorer()?.k === k ? 'intuition' : 'zeros';
      }
    }
    const layers = await readRouting(a.trainer, ids, s);
    return Comlink.transfer(
      { method: a.trainer.cfg.method, E: a.trainer.E, tokens: ids.map((id) => ({ id, text: tok.decode([id]) })), dropped: all.length - ids.length, s, sSource, layers },
      layers.flatMap((l) => [l.g.buffer, l.p.buffer]),
    );
  },

  async peekBatches(req) {
    return needDataset().peekBatches(req);
  },

  async adapterLayer(spec, tensors) {
    return runAdapterLayer(needEngine(), spec, tensors);
  },

  async finetune(req) {
    const m = needModel();
    const trainer = new GpuTrainer(needEngine(), m.gpu, req.adapter, initAdapterParams(m.gpu, req.adapter, req.seed));
    if (req.logitChunkBytes !== undefined) trainer.logitChunkBytes = req.logitChunkBytes;
    try {
      const e = needEngine(), batches = req.microBatches ?? [req.batch];
      await e.submit();
      const base = e.pool.stats().liveBytes;
      e.pool.resetPeak();
      const split = e.maxDispatchesPerSubmit, before = e.submissions;
      const bindGroups: FinetuneResult['bindGroups'] = [];
      if (req.maxDispatchesPerSubmit !== undefined) e.maxDispatchesPerSubmit = req.maxDispatchesPerSubmit;
      try {
        for (let i = 0; i < req.steps; i++) {
          const created = e.bindGroupsCreated, reused = e.bindGroupsReused;
          await trainer.accumulateStep(batches, req.hyper);
          bindGroups.push({ created: e.bindGroupsCreated - created, reused: e.bindGroupsReused - reused });
        }
      } finally {
        e.maxDispatchesPerSubmit = split;
      }
      const submissions = e.submissions - before;
      const tasks = Math.max(0, ...batches.map((b) => (b.task ? Math.max(...b.task) + 1 : 0)));
      const memory = { peakPoolBytes: e.pool.stats().peakBytes - base, estimatedBytes: estimateStep(m.gpu.spec, 0, req.adapter, batches[0].B, batches[0].T, tasks, trainer.logitChunkBytes).activationBytes };
      const params = Object.fromEntries([...(await trainer.readParams())].map(([k, p]) => [k, { WrA: Array.from(p.WrA), B: Array.from(p.B) }]));
      const arr = (a: Float32Array | null) => (a ? Array.from(a) : null);
      const grads = req.returnGrads ? Object.fromEntries([...(await trainer.readGrads())].map(([k, g]) => [k, { WrA: Array.from(g.WrA), B: Array.from(g.B), gates: arr(g.gates), M: arr(g.M) }])) : undefined;
      return { losses: await trainer.losses(), routerStats: await trainer.routerStats(), params, memory, submissions, bindGroups, ...(grads ? { grads } : {}) };
    } finally {
      trainer.destroy();
    }
  },

  async startRun(config) {
    const e = needEngine(), m = needModel(), ds = needDataset();
    if (run && (run.state().status === 'running' || run.state().status === 'paused')) throw new RunError(`a run is ${run.state().status}: stop it before starting another`);
    if (config.init === 'loaded' && !activeAdapter()) throw new RunError('init "loaded" continues the adapter trained (or loaded) before, and there is none; use init "fresh"');
    const base = adapterConfigOf(config, null);
    const E = adapterDims(layerSpec(base, adaptedLayers(m.gpu.spec, base)[0].lin, 1)).E;
    const gated = adapterDims(layerSpec(base, adaptedLayers(m.gpu.spec, base)[0].lin, 1)).gated;
    const used = gated ? await intuitionFor(config, E) : null;
    // Without an intuition request, scores computed earlier on this dataset (if any) are used.
    const k = used ? used.k! : gated ? ds.intuitionK : null;
    const previous = config.init === 'loaded' ? activeAdapter()!.trainer : undefined;
    const differs = previous ? adapterConfigDiff(adapterConfigOf(config, k !== null && k !== E ? k : null), previous.cfg) : null;
    if (differs) throw new RunError(`init "loaded": the adapter settings differ from the loaded adapter's (${differs}, this run vs the adapter); start fresh or keep the same method, sizes and targets`);
    const id = `run-${new Date().toISOString().replace(/[:.]/g, '-')}-${config.method}`;
    runCreated.set(id, new Date().toISOString());
    runIntuition.set(id, used);
    runTrains.set(id, { model: { source: m.info.source, parameters: m.info.parameters }, dataset: { name: ds.name, rows: ds.examples.length, train: ds.rows('train').length } });
    const next = new Run(e, m.gpu, ds, config, runHooks(), { id, k: k !== null && k !== E ? k : null, trainer: previous });
    // The new run owns the adapter: a fresh one replaces the old ones, a continued one is taken over.
    if (run && run.trainer !== previous) run.trainer.destroy();
    if (imported && imported.trainer !== previous) imported.trainer.destroy();
    imported = null;
    run = next;
    adapterChanged();
    void next.start();
    return next.state();
  },

  async pauseRun() {
    const r = needRun();
    r.pause();
    return r.state();
  },

  async resumeRun() {
    const r = needRun();
    r.resume();
    return r.state();
  },

  async stopRun() {
    const r = needRun();
    r.stop();
    await r.done();
    return r.state();
  },

  async runState() {
    return needRun().state();
  },

  async metrics() {
    return needRun().metrics();
  },

  async routerStats() {
    return needRun().trainer.routerStats();
  },

  async evaluate(req) {
    const m = needModel(), ds = needDataset();
    const tok = m.opened.tokenizer;
    const a = req.adapter ? activeAdapter() : null;
    if (req.adapter && !a) throw new Error('No adapter to evaluate: train one (startRun), load one (loadAdapter), or evaluate with adapter: false');
    const rows = ds.rows(req.split);
    const perTask = new Map<string, number>();
    const limit = req.limit ?? Infinity;
    const k = a ? scoreWidth(a.trainer) : 0;
    const items: EvalItem[] = [];
    for (const r of rows) {
      const ex = ds.examples[r];
      const n = perTask.get(ex.task) ?? 0;
      if (n >= limit) continue;
      perTask.set(ex.task, n + 1);
      items.push({ row: r, task: ex.task, ex, promptIds: ds.promptIds(r), s: null });
    }
    if (k) {
      // The rows' own scores when the dataset has this intuition, else scored like new prompts.
      const own = ds.intuitionK === k;
      const scored = own ? null : await promptScores(items.map((it) => embeddingText(it.ex)), k);
      items.forEach((it, i) => (it.s = own ? ds.scoresOf([it.row]) : scored![i]));
    }
    const V = m.gpu.spec.vocabSize;
    const src: LogitsSource = a
      ? { vocabSize: V, nextLogits: (seqs, s) => a.trainer.nextLogits(seqs, s) }
      : { vocabSize: V, nextLogits: (seqs) => m.gpu.nextLogitsBatch(seqs) };
    const eos = m.info.eosId;
    return evaluateItems(src, { decode: (ids) => tok.decode(ids), letterId: (l) => tok.encode(l, false)[0], eosId: eos }, items, {
      batchSize: req.batchSize ?? 8,
      answerTokens: (ex) => tok.encode(ex.answer, false).length,
    });
  },

  async forceGpuError() {
    const m = needModel();
    m.gpu.weight(m.gpu.layout.embed).destroy();
  },

  async runs() {
    return listRuns();
  },

  async restoreRun(id) {
    const e = needEngine(), m = needModel(), ds = needDataset();
    const refuseBusy = () => {
      if (run?.stopping) throw new RunError(`a run is stopping: wait for it to end before restoring another`);
      if (run?.state().status === 'running') throw new RunError('a run is running: stop it before restoring another');
    };
    refuseBusy();
    // A paused run is let go below and lives on in its checkpoint: refuse when that checkpoint did not save.
    const unsaved = run?.state().status === 'paused' ? run.state().checkpointError : undefined;
    if (unsaved) throw new RunError(`the paused run ${run!.id} could not save its checkpoint (${unsaved}); export its adapter or stop it before restoring another`);
    const ck = await readCheckpoint(id);
    const rec = ck.record;
    if (rec.model.source !== m.info.source || rec.model.parameters !== m.info.parameters) throw new RunError(`${id} trained ${rec.model.source} (${rec.model.parameters} parameters); the loaded model is ${m.info.source}: load that model first`);
    if (rec.dataset.name !== ds.name || rec.dataset.rows !== ds.examples.length || rec.dataset.train !== ds.rows('train').length)
      throw new RunError(`${id} trained on ${rec.dataset.name} (${rec.dataset.rows} rows, ${rec.dataset.train} for training); import the same file with the same settings first`);
    // (The run may have been resumed or stopped meanwhile.)
    refuseBusy();
    // A paused run lets go first (its loop ends; it stays saved as its last checkpoint has it): the
    // restore re-reads the dataset they share (intuition scores, reading position), so the paused run
    // could not resume correctly afterwards, whether the restore succeeds or not.
    let released: string | null = null;
    if (run?.state().status === 'paused') {
      const old = run;
      await old.release();
      old.trainer.destroy();
      run = null;
      released = old.id;
    }
    let next: Run;
    try {
      // The same intuition (deterministic for its seed) so the batches carry the same scores.
      const intuition = restoredIntuition(rec);
      if (intuition) await api.intuition(intuition);
      next = new Run(e, m.gpu, ds, rec.config, runHooks(), { id, k: rec.k });
      try {
        next.restored(ck.state, ck.metrics, ck.elapsed, ck.cursor);
      } catch (err) {
        next.trainer.destroy();
        throw err;
      }
      runCreated.set(id, rec.created);
      runIntuition.set(id, intuition);
      runTrains.set(id, { model: rec.model, dataset: rec.dataset });
    } catch (err) {
      if (released) adapterChanged();
      const why = err instanceof Error ? err.message : String(err);
      throw new RunError(released ? `${why} (the paused run ${released} stays saved: restore it from the saved runs)` : why);
    }
    // The restored run owns the adapter, like a started one: a loaded adapter no longer stands in for it.
    run?.trainer.destroy();
    imported?.trainer.destroy();
    imported = null;
    run = next;
    adapterChanged();
    return next.state();
  },

  async intuition(req) {
    const e = needEngine();
    const ds = needDataset();
    let embedder: Embedder | null = null;
    if (req.source === 'model') {
      const m = needModel();
      const me = new ModelEmbedder(m.gpu, m.opened.tokenizer, req.layer);
      embedder = embeddingCache.wrap(`model|${m.info.source}|${m.info.parameters}|${me.layer}`, me);
    } else if (req.source === 'encoder') {
      if (req.encoder && encoder?.info.source !== req.encoder) await api.loadEncoder(req.encoder.includes('/') && !req.encoder.startsWith('http') && !req.encoder.startsWith('/') ? { kind: 'hub', repo: req.encoder } : { kind: 'url', url: req.encoder });
      embedder = embeddingCache.wrap(`encoder|${encoder!.info.source}`, encoderEmbedder());
    } else if (req.source !== 'supplied') throw new Error(`intuition: source must be "model", "encoder" or "supplied", got ${JSON.stringify(req.source)}`);
    let last = 0;
    const { result, model } = await computeIntuition(e, ds, req, embedder, 32, {
      onProgress: (progress) => {
        const now = Date.now();
        if (now - last < 100 && progress.done !== progress.total) return;
        last = now;
        emit({ type: 'intuition-progress', progress });
      },
      onMap: (map) => emit({ type: 'cluster-map', map }),
    });
    intuitionModel = model;
    // The UI's cluster map: tasks and prompt starts of the mapped rows (a run's intuition is seen this way too).
    const names = [...new Set(ds.examples.map((x) => x.task))];
    const mapped = Array.from(result.projection.rows, (r) => ds.examples[r]);
    emit({
      type: 'intuition', result, taskNames: names, pointTasks: Int32Array.from(mapped, (x) => names.indexOf(x.task)),
      pointTexts: mapped.map((x) => (x.prompt.length > 160 ? `${x.prompt.slice(0, 160)}…` : x.prompt)),
    });
    return result;
  },

  async modelEmbeddings(texts, layer) {
    const m = needModel();
    const out = await new ModelEmbedder(m.gpu, m.opened.tokenizer, layer).embed(texts);
    return Comlink.transfer(out, [out.buffer]);
  },

  async intuitionScores(texts) {
    if (!intuitionModel) throw new Error('No intuition is computed yet (intuition())');
    const s = await scorePrompts(intuitionModel, texts);
    return Comlink.transfer(s, [s.buffer]);
  },

  async kmeans(req) {
    const { points, n, d, k, ...opts } = req;
    const r = await kmeansGpu(needEngine(), points, n, d, k, opts);
    return Comlink.transfer(r, [r.centroids.buffer, r.assignments.buffer]);
  },
};

