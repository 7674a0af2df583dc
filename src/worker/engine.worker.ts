// The engine worker: owns the GPUDevice, the Engine, the loaded model and the sentence encoder
// (intuition embeddings, loaded beside the model); exposes EngineApi
// through comlink. Events (progress, tokens, GPU errors) go out through init()'s callback.
import * as Comlink from 'comlink';
import { acquireDevice, adapterName, GpuUnavailableError } from '../gpu/device.ts';
import { Engine } from '../gpu/engine.ts';
import { SHADERS } from '../gpu/shaders.ts';
import { openEncoder, openModel, type OpenedEncoder, type OpenedModel } from '../model/load.ts';
import { GpuEncoder } from '../model/encoder.ts';
import { GpuModel } from '../model/gpuModel.ts';
import { filesFromBlobs, filesFromHub, filesFromUrl, modelCache, type FileProgress, type ModelFiles } from '../model/sources.ts';
import { generate, generateWith } from '../model/generate.ts';
import { runAdapterLayer } from '../adapters/layerRun.ts';
import { GpuTrainer, initAdapterParams } from '../train/trainer.ts';
import { Dataset, type TokenizerInfo } from '../data/dataset.ts';
import type { ReadProgress } from '../data/records.ts';
import { kmeansGpu } from '../intuition/kmeans.ts';
import { computeIntuition, scorePrompts, type IntuitionModel } from '../intuition/intuition.ts';
import { ModelEmbedder, type Embedder } from '../intuition/embed.ts';
import { adapterConfigOf, Run, RunError, type RunConfig, type RunHooks } from '../train/run.ts';
import { listRuns, readCheckpoint, writeCheckpoint } from '../train/checkpoint.ts';
import { evaluateItems, type EvalItem, type LogitsSource } from '../train/evaluate.ts';
import { adapterDims } from '../adapters/spec.ts';
import { adaptedLayers, layerSpec } from '../train/config.ts';
import type { EncoderInfo, EngineApi, EngineEvent, GenerateRequest, GenerateResult, GpuInitResult, ModelInfo, ModelSource } from './api.ts';

let engine: Engine | null = null;
let emit: (e: EngineEvent) => void = () => {};
let loaded: { opened: OpenedModel; gpu: GpuModel; info: ModelInfo } | null = null;
/** The sentence encoder (intuition embeddings), independent of the model. */
let encoder: { opened: OpenedEncoder; gpu: GpuEncoder; info: EncoderInfo } | null = null;
let dataset: Dataset | null = null;
/** The clustering behind the dataset's scores, kept to score new prompts the same way. */
let intuitionModel: IntuitionModel | null = null;

/** The current (or last) training run; its trainer holds the adapter after the run ends. */
let run: Run | null = null;

function needRun(): Run {
  if (!run) throw new Error('No training run: startRun first (or restoreRun a saved one)');
  return run;
}

/** Computes the intuition a run asks for (the batches then carry s): the request as run, or null. */
async function intuitionFor(cfg: RunConfig, E: number): Promise<NonNullable<RunConfig['intuition']> | null> {
  if (!cfg.intuition) return null;
  const req = { ...cfg.intuition, k: cfg.intuition.k ?? E, seed: cfg.intuition.seed ?? cfg.seed };
  await api.intuition(req);
  return req;
}

/** Per run: when it was created and the intuition it used (with its effective k and seed). */
const runCreated = new Map<string, string>();
const runIntuition = new Map<string, RunConfig['intuition'] | null>();

function runHooks(): RunHooks {
  return {
    onMetrics: (rows, state) => emit({ type: 'run-metrics', rows, state }),
    onCheckpoint: async (r: Run, status) => {
      const m = needModel(), ds = needDataset();
      const st = r.state();
      await writeCheckpoint(
        {
          id: r.id, created: runCreated.get(r.id) ?? new Date().toISOString(), config: r.config, model: { source: m.info.source, parameters: m.info.parameters },
          dataset: { name: ds.name, rows: ds.examples.length, train: ds.rows('train').length }, intuition: runIntuition.get(r.id) ?? null, k: r.adapter.k ?? null,
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
    eosId: opened.tokenizer.eosId ?? s.eosTokenIds[0] ?? null, unused: opened.unused,
  };
}

const api: EngineApi = {
  async init(onEvent) {
    emit = onEvent;
    if (engine && !engine.lost) engine.destroy();
    loaded = null;
    encoder = null;
    try {
      const ctx = await acquireDevice((self.navigator as Navigator).gpu);
      engine = new Engine(ctx, SHADERS);
      engine.onError((error) => emit({ type: 'gpu-error', error }));
      return { ok: true, adapter: ctx.adapter, adapterName: adapterName(ctx.adapter), features: ctx.features, limits: { ...ctx.limits } } satisfies GpuInitResult;
    } catch (e) {
      if (e instanceof GpuUnavailableError) return { ok: false, reason: e.reason, message: e.message };
      return { ok: false, reason: 'device-failed', message: `Starting the GPU engine failed: ${e instanceof Error ? e.message : String(e)}` };
    }
  },

  async loadModel(source) {
    const e = needEngine();
    const opened = await openModel(await sourceFiles(source));
    const gpu = await GpuModel.load(e, opened, (progress) => emit({ type: 'upload', progress }));
    loaded?.gpu.destroy();
    loaded = { opened, gpu, info: describe(opened, gpu) };
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

  async logits(ids) {
    const out = await needModel().gpu.logits(ids);
    return Comlink.transfer(out, [out.buffer]);
  },

  async generate(req: GenerateRequest): Promise<GenerateResult> {
    const m = needModel();
    const tok = m.opened.tokenizer;
    const text = typeof req.prompt === 'string' ? req.prompt : tok.chatPrompt(req.prompt, true);
    const promptIds = tok.encode(text, typeof req.prompt === 'string');
    const stopIds = [...new Set([...(m.info.eosId !== null ? [m.info.eosId] : []), ...m.opened.spec.eosTokenIds])];
    const onToken = (id: number) => emit({ type: 'token', id, text: tok.decode([id]) });
    if (req.adapter === true && !run) throw new Error('No adapter: train one (startRun) or generate with adapter: false');
    if (run && req.adapter !== false) {
      // Through the adapter: the prompt's intuition scores as given, or embedded and scored like the training rows.
      const r = run;
      let s: number[] | null = null;
      if (r.gated) {
        const k = r.adapter.k ?? adapterDims(layerSpec(r.adapter, adaptedLayers(m.gpu.spec, r.adapter)[0].lin, 1)).E;
        const userText = typeof req.prompt === 'string' ? req.prompt : ([...req.prompt].reverse().find((x) => x.role === 'user')?.content ?? text);
        s = req.s ?? (intuitionModel ? Array.from(await scorePrompts(intuitionModel, [userText])) : new Array<number>(k).fill(0));
        if (s.length !== k) throw new Error(`generate: s must hold ${k} intuition scores, got ${s.length}`);
      }
      const ids = await generateWith((seq) => r.trainer.nextLogits([seq], s ? [s] : null), promptIds, m.gpu.spec.maxPositions, { ...req, stopIds }, onToken);
      return { promptIds, ids, text: tok.decode(ids) };
    }
    const ids = await generate(m.gpu, promptIds, { ...req, stopIds }, onToken);
    return { promptIds, ids, text: tok.decode(ids) };
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

  async peekBatches(req) {
    return needDataset().peekBatches(req);
  },

  async adapterLayer(spec, tensors) {
    return runAdapterLayer(needEngine(), spec, tensors);
  },

  async finetune(req) {
    const m = needModel();
    const trainer = new GpuTrainer(needEngine(), m.gpu, req.adapter, initAdapterParams(m.gpu, req.adapter, req.seed));
    try {
      for (let i = 0; i < req.steps; i++) await trainer.accumulateStep(req.microBatches ?? [req.batch], req.hyper);
      const params = Object.fromEntries([...(await trainer.readParams())].map(([k, p]) => [k, { WrA: Array.from(p.WrA), B: Array.from(p.B) }]));
      const arr = (a: Float32Array | null) => (a ? Array.from(a) : null);
      const grads = req.returnGrads ? Object.fromEntries([...(await trainer.readGrads())].map(([k, g]) => [k, { WrA: Array.from(g.WrA), B: Array.from(g.B), gates: arr(g.gates), M: arr(g.M) }])) : undefined;
      return { losses: await trainer.losses(), routerStats: await trainer.routerStats(), params, ...(grads ? { grads } : {}) };
    } finally {
      trainer.destroy();
    }
  },

  async startRun(config) {
    const e = needEngine(), m = needModel(), ds = needDataset();
    if (run && (run.state().status === 'running' || run.state().status === 'paused')) throw new RunError(`a run is ${run.state().status}: stop it before starting another`);
    if (config.init === 'loaded' && !run) throw new RunError('init "loaded" continues the adapter trained (or loaded) before, and there is none; use init "fresh"');
    const base = adapterConfigOf(config, null);
    const E = adapterDims(layerSpec(base, adaptedLayers(m.gpu.spec, base)[0].lin, 1)).E;
    const gated = adapterDims(layerSpec(base, adaptedLayers(m.gpu.spec, base)[0].lin, 1)).gated;
    const used = gated ? await intuitionFor(config, E) : null;
    // Without an intuition request, scores computed earlier on this dataset (if any) are used.
    const k = used ? used.k! : gated ? ds.intuitionK : null;
    const previous = config.init === 'loaded' ? run!.trainer : undefined;
    if (previous && JSON.stringify(adapterConfigOf(config, k !== null && k !== E ? k : null)) !== JSON.stringify(previous.cfg))
      throw new RunError('init "loaded": the adapter settings differ from the loaded adapter\'s; start fresh or keep the same method, sizes and targets');
    const id = `run-${new Date().toISOString().replace(/[:.]/g, '-')}-${config.method}`;
    runCreated.set(id, new Date().toISOString());
    runIntuition.set(id, used);
    const next = new Run(e, m.gpu, ds, config, runHooks(), { id, k: k !== null && k !== E ? k : null, trainer: previous });
    if (!previous) run?.trainer.destroy();
    run = next;
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
    if (req.adapter && !run) throw new Error('No adapter to evaluate: train one (startRun) or evaluate with adapter: false');
    const rows = ds.rows(req.split);
    const perTask = new Map<string, number>();
    const limit = req.limit ?? Infinity;
    const gated = !!run && run.gated;
    const k = run ? (run.adapter.k ?? adapterDims(layerSpec(run.adapter, adaptedLayers(m.gpu.spec, run.adapter)[0].lin, 1)).E) : 0;
    const items: EvalItem[] = [];
    for (const r of rows) {
      const ex = ds.examples[r];
      const n = perTask.get(ex.task) ?? 0;
      if (n >= limit) continue;
      perTask.set(ex.task, n + 1);
      items.push({ row: r, task: ex.task, ex, promptIds: ds.promptIds(r), s: req.adapter && gated ? (ds.scoresOf([r]) ?? new Array<number>(k).fill(0)) : null });
    }
    const V = m.gpu.spec.vocabSize;
    const src: LogitsSource = req.adapter
      ? { vocabSize: V, nextLogits: (seqs, s) => run!.trainer.nextLogits(seqs, s) }
      : {
          vocabSize: V,
          async nextLogits(seqs) {
            const out = new Float32Array(seqs.length * V);
            for (const [i, q] of seqs.entries()) out.set((await m.gpu.logits(q)).subarray((q.length - 1) * V, q.length * V), i * V);
            return out;
          },
        };
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
    if (run && run.state().status === 'running') throw new RunError('a run is running: stop it before restoring another');
    const ck = await readCheckpoint(id);
    const rec = ck.record;
    if (rec.model.source !== m.info.source || rec.model.parameters !== m.info.parameters) throw new RunError(`run ${id} trained ${rec.model.source} (${rec.model.parameters} parameters); the loaded model is ${m.info.source}: load that model first`);
    if (rec.dataset.name !== ds.name || rec.dataset.rows !== ds.examples.length || rec.dataset.train !== ds.rows('train').length)
      throw new RunError(`run ${id} trained on ${rec.dataset.name} (${rec.dataset.rows} rows, ${rec.dataset.train} for training); import the same file with the same settings first`);
    // The same intuition (deterministic for its seed) so the batches carry the same scores.
    if (rec.intuition) await api.intuition({ ...rec.intuition, seed: rec.intuition.seed ?? rec.config.seed });
    runCreated.set(id, rec.created);
    runIntuition.set(id, rec.intuition);
    const next = new Run(e, m.gpu, ds, rec.config, runHooks(), { id, k: rec.k });
    next.restored(ck.state, ck.metrics, ck.elapsed, ck.cursor);
    run?.trainer.destroy();
    run = next;
    return next.state();
  },

  async intuition(req) {
    const e = needEngine();
    const ds = needDataset();
    let embedder: Embedder | null = null;
    if (req.source === 'model') {
      const m = needModel();
      embedder = new ModelEmbedder(m.gpu, m.opened.tokenizer, req.layer);
    } else if (req.source === 'encoder') {
      if (req.encoder && encoder?.info.source !== req.encoder) await api.loadEncoder(req.encoder.includes('/') && !req.encoder.startsWith('http') && !req.encoder.startsWith('/') ? { kind: 'hub', repo: req.encoder } : { kind: 'url', url: req.encoder });
      embedder = encoderEmbedder();
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

Comlink.expose(api);
