// Training runs through the app's worker (window.mor1e.startRun …): metric rows with the
// schedule's learning rates, validation loss, pause / resume / stop, the non-finite guard
// stopping a run with advice, accumulation equal to one larger batch, evaluation equal to a
// float64 reference scorer, a checkpoint in OPFS that a reloaded page resumes to the same
// losses as an uninterrupted run, and one restored past the loss history's first 128 rows.
import { test, expect, type Page } from '@playwright/test';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openModel, readTensor } from '../src/model/load.ts';
import { filesFromBlobs } from '../src/model/sources.ts';
import { referenceForward } from '../src/reference/model.ts';
import { Dataset } from '../src/data/dataset.ts';
import { evaluateItems, type EvalItem, type LogitsSource } from '../src/train/evaluate.ts';
import { learningRate } from '../src/train/schedule.ts';
import type { RunConfig } from '../src/train/run.ts';

const FIX = join(import.meta.dirname, 'fixtures');
const TASKS = readFileSync(join(FIX, 'data', 'tasks.jsonl'), 'utf8');

async function openApp(page: Page, model: string, importOpts: object = { seed: 5, validationFraction: 0.25 }): Promise<void> {
  await page.goto('/');
  await expect(page.getByTestId('gpu-status')).toHaveAttribute('data-status', 'ready', { timeout: 60_000 });
  await page.evaluate((m) => window.mor1e!.loadModel(`/e2e/fixtures/models/${m}/`), model);
  await page.evaluate(([t, o]) => window.mor1e!.importDataset({ name: 'tasks.jsonl', text: t as string }, o as object), [TASKS, importOpts] as const);
}

async function waitFor(page: Page, statuses: string[], timeout = 200_000) {
  await expect.poll(() => page.evaluate(() => window.mor1e!.runState().then((s) => s.status)), { timeout, intervals: [250] }).toMatch(new RegExp(`^(${statuses.join('|')})$`));
  return page.evaluate(() => window.mor1e!.runState());
}

const BASE: RunConfig = { method: 'trex', r1: 2, r2: 4, init: 'fresh', steps: 10, batchSize: 4, lr: 1e-2, schedule: 'cosine', warmupSteps: 2, seed: 3, maxNorm: 1 };

test.describe.configure({ mode: 'serial' });

test('a run: every step has a row, the schedule, validation loss, falling loss, router statistics', async ({ page }) => {
  test.setTimeout(300_000);
  await openApp(page, 'tiny-gpt2');
  const cfg: RunConfig = { ...BASE, intuition: { source: 'model', k: 8 }, evalEvery: 5 };
  const prompts = ['What is 3 plus 4?', 'Reverse the word: sun'];
  const gen = (adapter?: boolean, s?: number[]) =>
    page.evaluate(([ps, a, sc]) => Promise.all((ps as string[]).map((p) => window.mor1e!.generate({ prompt: p, maxNewTokens: 6, temperature: 0, ...(a === undefined ? {} : { adapter: a as boolean }), ...(sc ? { s: sc as number[] } : {}) }).then((r) => r.ids))), [prompts, adapter, s] as const);
  const baseBefore = await gen();
  await expect(gen(true)).rejects.toThrow(/No adapter/);
  const started = await page.evaluate((c) => window.mor1e!.startRun(c), cfg);
  expect(started).toMatchObject({ status: 'running', totalSteps: 10 });
  expect(started.estimatedMiB).toBeGreaterThan(0);
  // T-REX 2 x 4 on tiny-gpt2 (2 blocks; qkv 64 → 192, o 64 → 64, fc 64 → 256, proj 256 → 64): per layer
  // r1·n + m·r2 + E·n + 2 gates = 10n + 4m + 2: 1,410 + 898 + 1,666 + 2,818 = 6,792 per block.
  expect(started.trainableParameters).toBe(2 * 6792);
  const done = await waitFor(page, ['finished', 'failed']);
  expect(done.error).toBeUndefined();
  expect(done).toMatchObject({ status: 'finished', step: 10, skipped: 0 });
  const rows = await page.evaluate(() => window.mor1e!.metrics());
  expect(rows.map((r) => r.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  rows.forEach((r) => {
    expect(r.lr).toBeCloseTo(learningRate({ lr: 1e-2, schedule: 'cosine', warmupSteps: 2, totalSteps: 10 }, r.step), 12);
    expect(Number.isFinite(r.loss) && Number.isFinite(r.gradNorm) && r.tokens > 0 && r.seconds > 0).toBe(true);
    expect(r.skipped).toBe(false);
  });
  expect(rows.filter((r) => r.valLoss !== undefined).map((r) => r.step)).toEqual([5, 10]);
  expect(rows[9].loss).toBeLessThan(rows[0].loss);
  expect(rows[9].valLoss!).toBeLessThan(rows[4].valLoss! + 1);
  const stats = await page.evaluate(() => window.mor1e!.routerStats());
  expect(stats.length).toBe(8); // 2 blocks x 4 linear layers
  expect(stats[0].E).toBe(8);
  expect(stats[0].groups.length).toBe(4); // all tokens + 3 tasks
  // Generation: the base model is unchanged; through the adapter the prompt's own scores are used.
  expect(await gen(false)).toEqual(baseBefore);
  const withAdapter = await gen();
  expect(withAdapter).not.toEqual(baseBefore);
  const s0 = Array.from(await page.evaluate((p) => window.mor1e!.intuitionScores([p]), prompts[0]));
  const explicit = await page.evaluate(([p, sc]) => window.mor1e!.generate({ prompt: p as string, maxNewTokens: 6, temperature: 0, s: sc as number[] }).then((r) => r.ids), [prompts[0], s0] as const);
  expect(explicit).toEqual(withAdapter[0]);
  await expect(page.evaluate(() => window.mor1e!.generate({ prompt: 'x', maxNewTokens: 2, s: [1, 2] }))).rejects.toThrow(/s must hold 8 intuition scores/);
  const evalAfter = await page.evaluate(() => window.mor1e!.evaluate({ split: 'validation', adapter: true }));
  expect(Object.keys(evalAfter.tasks).sort()).toEqual(['add', 'reverse', 'sentiment']);
});

test('pause, resume and stop between steps; the guard stops a run whose steps are all non-finite', async ({ page }) => {
  test.setTimeout(300_000);
  await openApp(page, 'tiny-llama');
  await page.evaluate((c) => window.mor1e!.startRun(c), { ...BASE, method: 'lora', r: 4, steps: 200 } as RunConfig);
  await expect.poll(() => page.evaluate(() => window.mor1e!.runState().then((s) => s.step)), { timeout: 120_000 }).toBeGreaterThanOrEqual(2);
  await page.evaluate(() => window.mor1e!.pauseRun());
  const paused = await waitFor(page, ['paused']);
  await page.waitForTimeout(1500);
  expect((await page.evaluate(() => window.mor1e!.runState())).step).toBe(paused.step);
  await expect(page.evaluate((c) => window.mor1e!.startRun(c), BASE)).rejects.toThrow(/a run is paused: stop it/);
  await page.evaluate(() => window.mor1e!.resumeRun());
  await expect.poll(() => page.evaluate(() => window.mor1e!.runState().then((s) => s.step)), { timeout: 120_000 }).toBeGreaterThan(paused.step);
  const stopped = await page.evaluate(() => window.mor1e!.stopRun());
  expect(stopped.status).toBe('stopped');
  expect(stopped.step).toBeLessThan(200);

  // An absurd learning rate: the first update blows the adapter up, every later step is non-finite.
  await page.evaluate((c) => window.mor1e!.startRun(c), { ...BASE, method: 'lora', r: 4, steps: 40, lr: 1e30, warmupSteps: 0, schedule: 'constant', maxNorm: 0 } as RunConfig);
  const failed = await waitFor(page, ['failed', 'finished']);
  expect(failed.status).toBe('failed');
  expect(failed.error).toMatch(/steps in a row had a non-finite loss or gradient norm.*Lower the learning rate/);
  expect(failed.skipped).toBeGreaterThanOrEqual(5);
  const rows = await page.evaluate(() => window.mor1e!.metrics());
  expect(rows[0].skipped).toBe(false);
  expect(rows.filter((r) => r.skipped).length).toBe(failed.skipped);
  // Bad configurations are refused with the field named.
  await expect(page.evaluate(() => window.mor1e!.startRun({ ...({} as RunConfig), method: 'trex', init: 'fresh', batchSize: 0, lr: 1, schedule: 'cosine', seed: 1, steps: 1 }))).rejects.toThrow(/batchSize must be an integer ≥ 1/);
  await expect(page.evaluate((c) => window.mor1e!.startRun(c), { ...BASE, schedule: 'step' } as unknown as RunConfig)).rejects.toThrow(/schedule must be/);
  // A run over its memory budget is refused before anything is allocated, with a suggestion.
  await expect(page.evaluate((c) => window.mor1e!.startRun(c), { ...BASE, memoryBudgetMiB: 1 } as RunConfig)).rejects.toThrow(/needs about \d+ MiB of GPU memory .* over the budget of 1 MiB/);
});

test('accumulating two micro-batches equals one batch twice as large', async ({ page }) => {
  test.setTimeout(200_000);
  await openApp(page, 'tiny-qwen2', { validationFraction: 0 });
  const [a, b] = await page.evaluate(() => window.mor1e!.peekBatches({ split: 'train', count: 2, batchSize: 2, padTo: 100 }));
  const big = { B: 4, T: 100, ids: [...a.ids, ...b.ids], targets: [...a.targets, ...b.targets], mask: [...a.mask, ...b.mask], s: null };
  const strip = (x: typeof a) => ({ B: x.B, T: x.T, ids: x.ids, targets: x.targets, mask: x.mask, s: null });
  const hyper = { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, maxNorm: 1 };
  const adapter = { method: 'lora' as const, r: 4, alpha: 8 };
  const acc = await page.evaluate(([x, y, h, ad]) => window.mor1e!.finetune({ adapter: ad, batch: x, microBatches: [x, y], steps: 3, hyper: h, seed: 2 } as never), [strip(a), strip(b), hyper, adapter] as const);
  const one = await page.evaluate(([x, h, ad]) => window.mor1e!.finetune({ adapter: ad, batch: x, steps: 3, hyper: h, seed: 2 } as never), [big, hyper, adapter] as const);
  acc.losses.forEach((l, i) => expect(Math.abs(l - one.losses[i]) / Math.abs(one.losses[i])).toBeLessThan(1e-5));
  for (const [key, p] of Object.entries(one.params!)) {
    const q = acc.params![key];
    const diff = Math.max(...p.B.map((v, i) => Math.abs(v - q.B[i])));
    expect(diff, key).toBeLessThan(1e-5);
  }
});

test('evaluation per task equals the float64 reference scorer (base model)', async ({ page }) => {
  test.setTimeout(200_000);
  await openApp(page, 'tiny-llama');
  const gpu = await page.evaluate(() => window.mor1e!.evaluate({ split: 'validation', adapter: false }));
  // The same rows, prompts and scorer in Node, with logits from the float64 reference forward.
  const dir = join(FIX, 'models', 'tiny-llama');
  const m = await openModel(filesFromBlobs(readdirSync(dir).map((f) => ({ name: f, blob: new Blob([readFileSync(join(dir, f))]) }))));
  const weights = new Map<string, Float64Array>();
  for (const k of m.tensors.keys()) weights.set(k, Float64Array.from(await readTensor(m, k)));
  const tok = m.tokenizer;
  const ds = await Dataset.import({ name: 'tasks.jsonl', text: TASKS }, { seed: 5, validationFraction: 0.25 }, { tok, eosId: tok.eosId, maxPositions: m.spec.maxPositions });
  const V = m.spec.vocabSize;
  const src: LogitsSource = {
    vocabSize: V,
    async nextLogits(seqs) {
      const out = new Float32Array(seqs.length * V);
      seqs.forEach((q, i) => out.set(referenceForward(m.spec, weights, q).subarray((q.length - 1) * V, q.length * V), i * V));
      return out;
    },
  };
  const items: EvalItem[] = ds.rows('validation').map((r) => ({ row: r, task: ds.examples[r].task, ex: ds.examples[r], promptIds: ds.promptIds(r), s: null }));
  const ref = await evaluateItems(src, { decode: (ids) => tok.decode(ids), letterId: (l) => tok.encode(l, false)[0], eosId: tok.eosId }, items, { batchSize: 8, answerTokens: (ex) => tok.encode(ex.answer, false).length });
  expect(gpu.tasks).toEqual(ref.tasks);
  expect(gpu.mean).toBeCloseTo(ref.mean, 12);
  expect([...gpu.rows].sort((x, y) => x.row - y.row)).toEqual([...ref.rows].sort((x, y) => x.row - y.row));
  expect(Object.keys(gpu.tasks).sort()).toEqual(['add', 'reverse', 'sentiment']);
  expect(gpu.tasks.sentiment.likelihoodAccuracy).toBeDefined();
  await expect(page.evaluate(() => window.mor1e!.evaluate({ split: 'validation', adapter: true }))).rejects.toThrow(/No adapter to evaluate/);
});

test('a checkpoint in OPFS: a reloaded page lists the run, restores it, and resumes to the uninterrupted losses', async ({ page }) => {
  test.setTimeout(400_000);
  const cfg: RunConfig = { ...BASE, steps: 8, seed: 11, intuition: { source: 'model', k: 3 } };
  await openApp(page, 'tiny-gpt2');
  await page.evaluate((c) => window.mor1e!.startRun(c), cfg);
  await waitFor(page, ['finished']);
  const straight = (await page.evaluate(() => window.mor1e!.metrics())).map((r) => r.loss);

  await page.evaluate((c) => window.mor1e!.startRun(c), cfg);
  await expect.poll(() => page.evaluate(() => window.mor1e!.runState().then((s) => s.step)), { timeout: 120_000 }).toBeGreaterThanOrEqual(3);
  await page.evaluate(() => window.mor1e!.pauseRun());
  const paused = await waitFor(page, ['paused']);
  expect(paused.step).toBeLessThan(8);

  // A fresh page (a new worker, nothing in memory): the same model and data, then the run.
  await openApp(page, 'tiny-gpt2');
  const runs = await page.evaluate(() => window.mor1e!.runs());
  const saved = runs.find((r) => r.id === paused.id)!;
  expect(saved).toMatchObject({ step: paused.step, status: 'paused', totalSteps: 8, dataset: { name: 'tasks.jsonl' } });
  const restored = await page.evaluate((id) => window.mor1e!.restoreRun(id), saved.id);
  expect(restored).toMatchObject({ status: 'paused', step: paused.step });
  await page.evaluate(() => window.mor1e!.resumeRun());
  await waitFor(page, ['finished']);
  const resumed = (await page.evaluate(() => window.mor1e!.metrics())).map((r) => r.loss);
  expect(resumed).toEqual(straight);
  await expect(page.evaluate(() => window.mor1e!.restoreRun('no-such-run'))).rejects.toThrow(/no saved run "no-such-run"/);
  // A finished run restores finished (its curves and adapter), with nothing to resume.
  expect(await page.evaluate((id) => window.mor1e!.restoreRun(id), saved.id)).toMatchObject({ status: 'finished', step: 8 });
  await expect(page.evaluate(() => window.mor1e!.resumeRun())).rejects.toThrow(/the run is finished, not paused/);
  expect((await page.evaluate(() => window.mor1e!.metrics())).map((r) => r.loss)).toEqual(straight);
  // Restored and stopped without resuming: stopped at its checkpoint's step, and saved so (a restored run has no loop until it resumes).
  await page.evaluate((c) => window.mor1e!.startRun(c), cfg);
  await expect.poll(() => page.evaluate(() => window.mor1e!.runState().then((s) => s.step)), { timeout: 120_000 }).toBeGreaterThanOrEqual(2);
  await page.evaluate(() => window.mor1e!.pauseRun());
  const again = await waitFor(page, ['paused']);
  // Another run restored while this one is paused: the paused one lets go and stays saved as paused.
  expect(await page.evaluate((id) => window.mor1e!.restoreRun(id), saved.id)).toMatchObject({ status: 'finished', step: 8, id: saved.id });
  expect((await page.evaluate(() => window.mor1e!.runs())).find((r) => r.id === again.id)).toMatchObject({ status: 'paused', step: again.step });
  expect(await page.evaluate(() => window.mor1e!.runState())).toMatchObject({ status: 'finished', id: saved.id });
  expect(await page.evaluate((id) => window.mor1e!.restoreRun(id), again.id!)).toMatchObject({ status: 'paused', step: again.step });
  expect(await page.evaluate(() => window.mor1e!.stopRun())).toMatchObject({ status: 'stopped', step: again.step });
  expect((await page.evaluate(() => window.mor1e!.runs())).find((r) => r.id === again.id)).toMatchObject({ status: 'stopped', step: again.step });
  // Another dataset imported while a run is paused (to evaluate on) is not the run's: its checkpoint keeps naming its own data.
  expect(await page.evaluate((id) => window.mor1e!.restoreRun(id), again.id!)).toMatchObject({ status: 'paused', step: again.step });
  await page.evaluate((t) => window.mor1e!.importDataset({ name: 'other.jsonl', text: t }, { seed: 1 }), TASKS.split('\n').slice(0, 12).join('\n'));
  await page.evaluate(() => window.mor1e!.stopRun());
  expect((await page.evaluate(() => window.mor1e!.runs())).find((r) => r.id === again.id)).toMatchObject({ status: 'stopped', dataset: { name: 'tasks.jsonl' } });
});

test('a run paused past its 128th step restores on a fresh page and finishes', async ({ page }) => {
  // The GPU-side loss history starts at 64 rows and doubles when a step needs it: a restore must
  // allocate the whole history at once (restored at 130 rows into 64, the next step grew it to 128
  // and wrote past its end).
  test.setTimeout(900_000);
  const cfg: RunConfig = { ...BASE, method: 'lora', r: 2, steps: 134, batchSize: 2, seed: 5, schedule: 'constant', warmupSteps: 0 };
  await openApp(page, 'tiny-gpt2');
  await page.evaluate((c) => window.mor1e!.startRun(c), cfg);
  await expect.poll(() => page.evaluate(() => window.mor1e!.runState().then((s) => s.step)), { timeout: 600_000, intervals: [250] }).toBeGreaterThanOrEqual(130);
  await page.evaluate(() => window.mor1e!.pauseRun());
  const paused = await waitFor(page, ['paused']);
  expect(paused.step).toBeGreaterThan(128);
  expect(paused.step).toBeLessThan(134);
  const before = await page.evaluate(() => window.mor1e!.metrics());

  await openApp(page, 'tiny-gpt2');
  const restored = await page.evaluate((id) => window.mor1e!.restoreRun(id), paused.id!);
  expect(restored).toMatchObject({ status: 'paused', step: paused.step });
  await page.evaluate(() => window.mor1e!.resumeRun());
  const done = await waitFor(page, ['finished', 'failed']);
  expect(done.error ?? null).toBeNull();
  expect(done).toMatchObject({ status: 'finished', step: 134 });
  const rows = await page.evaluate(() => window.mor1e!.metrics());
  expect(rows.map((r) => r.step)).toEqual(Array.from({ length: 134 }, (_, i) => i + 1));
  // The restored history is the one written before the pause, row for row.
  expect(rows.slice(0, before.length).map((r) => [r.loss, r.gradNorm])).toEqual(before.map((r) => [r.loss, r.gradNorm]));
  expect(rows.every((r) => Number.isFinite(r.loss))).toBe(true);
});

test('a GPU error during a run fails it with the error, never as a success', async ({ page }) => {
  test.setTimeout(200_000);
  await openApp(page, 'tiny-gpt2');
  await page.evaluate((c) => window.mor1e!.startRun(c), { ...BASE, method: 'lora', r: 4, steps: 100 } as RunConfig);
  await expect.poll(() => page.evaluate(() => window.mor1e!.runState().then((s) => s.step)), { timeout: 120_000 }).toBeGreaterThanOrEqual(2);
  await page.evaluate(() => window.mor1e!.forceGpuError());
  const failed = await waitFor(page, ['failed', 'finished']);
  expect(failed.status).toBe('failed');
  expect(failed.error).toMatch(/^GPU validation error.* at step \d+: .+/);
  expect(failed.step).toBeLessThan(100);
});

test('router statistics read while a new run replaces the adapter: no GPU error, both runs finish', async ({ page }) => {
  // The studio reads routerStats() every ~2 s; a run started meanwhile destroys the old adapter.
  // The read copies every layer's statistics in one submission before it waits, so it never
  // submits a copy of a destroyed buffer (which failed the next run at step 1 with "used in
  // submit while destroyed").
  test.setTimeout(300_000);
  await openApp(page, 'tiny-gpt2');
  // MoLoRA: routed (statistics per layer) but not gated, so startRun has no intuition to await and
  // destroys the old adapter as soon as it is handled, between the read's first and second layer.
  const cfg: RunConfig = { ...BASE, method: 'molora', r: 8, steps: 2 };
  await page.evaluate((c) => window.mor1e!.startRun(c), cfg);
  expect((await waitFor(page, ['finished', 'failed'])).status).toBe('finished');
  const errorsBefore = (await page.evaluate(() => window.mor1e!.gpuErrors())).length;
  const read = await page.evaluate(async (c) => {
    const stats = window.mor1e!.routerStats();
    await window.mor1e!.startRun(c);
    return stats.then((s) => s.length, (e: Error) => e.message);
  }, { ...cfg, seed: 4 });
  // Eight adapted layers (2 blocks x qkv, o, fc, proj) of statistics, read before the adapter went away.
  expect(read).toBe(8);
  const second = await waitFor(page, ['finished', 'failed']);
  expect(second.error).toBeUndefined();
  expect(second.status).toBe('finished');
  expect((await page.evaluate(() => window.mor1e!.gpuErrors())).slice(errorsBefore)).toEqual([]);
});
