// Intuition embedding throughput (instances per second): the base model's mean-pooled hidden
// states (ModelEmbedder, the app's code path) for the tiny test models, and the BERT encoder.
import type { Engine } from '../src/gpu/engine.ts';
import { openEncoder, openModel } from '../src/model/load.ts';
import { GpuModel } from '../src/model/gpuModel.ts';
import { GpuEncoder } from '../src/model/encoder.ts';
import { filesFromUrl } from '../src/model/sources.ts';
import { ModelEmbedder } from '../src/intuition/embed.ts';
import { round, timeRuns } from './timing.ts';
import type { ResultRow } from './results.mjs';

/** Prompts of 10–40 words, seeded. */
function prompts(n: number): string[] {
  const words = 'the a river city music number quick slow what is plus minus reverse word choose answer'.split(' ');
  let s = 7;
  const r = () => ((s = (s * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  return Array.from({ length: n }, () => Array.from({ length: 10 + Math.floor(r() * 30) }, () => words[Math.floor(r() * words.length)]).join(' '));
}

export async function benchEmbed(engine: Engine, adapter: string, runs: number): Promise<ResultRow[]> {
  const rows: ResultRow[] = [];
  const texts = prompts(64);
  for (const name of ['tiny-gpt2', 'tiny-llama', 'tiny-qwen2']) {
    const opened = await openModel(filesFromUrl(`/e2e/fixtures/models/${name}/`));
    const model = await GpuModel.load(engine, opened);
    try {
      const emb = new ModelEmbedder(model, opened.tokenizer);
      const t = await timeRuns(() => emb.embed(texts).then(() => undefined), { runs, warmup: 1 });
      rows.push({ bench: 'embed', shape: `${name}, block ${emb.layer}, ${texts.length} prompts`, adapter, instances_per_s: round(texts.length / (t.medianMs / 1000)), ms: round(t.medianMs, 4), runs });
    } finally {
      model.destroy();
    }
  }
  const opened = await openEncoder(filesFromUrl('/e2e/fixtures/models/tiny-bert/'));
  const enc = await GpuEncoder.load(engine, opened);
  try {
    const seqs = texts.map((t) => opened.tokenizer.encodeTruncated(t, opened.spec.maxPositions));
    const t = await timeRuns(() => enc.embedAll(seqs, 32).then(() => undefined), { runs, warmup: 1 });
    rows.push({ bench: 'embed', shape: `tiny-bert encoder, ${texts.length} prompts`, adapter, instances_per_s: round(texts.length / (t.medianMs / 1000)), ms: round(t.medianMs, 4), runs });
  } finally {
    enc.destroy();
  }
  return rows;
}
