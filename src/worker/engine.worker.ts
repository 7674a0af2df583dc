// The engine worker: owns the GPUDevice, the Engine and the loaded model; exposes EngineApi
// through comlink. Events (progress, tokens, GPU errors) go out through init()'s callback.
import * as Comlink from 'comlink';
import { acquireDevice, adapterName, GpuUnavailableError } from '../gpu/device.ts';
import { Engine } from '../gpu/engine.ts';
import { SHADERS } from '../gpu/shaders.ts';
import { openModel, type OpenedModel } from '../model/load.ts';
import { GpuModel } from '../model/gpuModel.ts';
import { filesFromBlobs, filesFromHub, filesFromUrl, modelCache, type FileProgress, type ModelFiles } from '../model/sources.ts';
import { generate } from '../model/generate.ts';
import { runAdapterLayer } from '../adapters/layerRun.ts';
import { GpuTrainer, initAdapterParams } from '../train/trainer.ts';
import { Dataset, type TokenizerInfo } from '../data/dataset.ts';
import type { ReadProgress } from '../data/records.ts';
import type { EngineApi, EngineEvent, GenerateRequest, GenerateResult, GpuInitResult, ModelInfo, ModelSource } from './api.ts';

let engine: Engine | null = null;
let emit: (e: EngineEvent) => void = () => {};
let loaded: { opened: OpenedModel; gpu: GpuModel; info: ModelInfo } | null = null;
let dataset: Dataset | null = null;

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

async function sourceFiles(source: ModelSource): Promise<ModelFiles> {
  const onProgress = (progress: FileProgress) => emit({ type: 'file', progress });
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
    const ids = await generate(m.gpu, promptIds, { ...req, stopIds }, (id) => emit({ type: 'token', id, text: tok.decode([id]) }));
    return { promptIds, ids, text: tok.decode(ids) };
  },

  async importDataset(input, options = {}) {
    const ds = await Dataset.import(input, options, tokenizerInfo(), throttledProgress());
    // A file of no known shape is reported (with its columns, for a mapping) but replaces nothing.
    if (ds.shape !== 'unknown') dataset = ds;
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
      for (let i = 0; i < req.steps; i++) await trainer.step(req.batch, req.hyper);
      return { losses: await trainer.losses(), routerStats: await trainer.routerStats() };
    } finally {
      trainer.destroy();
    }
  },
};

Comlink.expose(api);
