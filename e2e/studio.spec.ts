// The studio as a person meets it (issues 13 and 14): on first open the bundled model and suite
// are loaded (the rows previewed page by page) and the Method step holds T-REX; one button starts
// a run whose step counter and loss curve move; pause, a reload, the saved run restored and
// resumed to its end; the expert heatmap and one prompt's routing token by token; evaluation
// before and after; generation with and without the adapter; the adapter downloaded as a .zip and
// unpacked. A second test computes the cluster map of a small file, trains on it with that
// intuition and shows a prompt's cluster scores. Every panel is saved as a screenshot in the
// test's output. SwiftShader runs a step of the tiny model in seconds, so the runs are a few steps
// at batch 2 and evaluation reads two rows per task.
import { test, expect, type Page } from '@playwright/test';
import { join } from 'node:path';
import { engineRouting, jsonOf, safetensorsHeader, StudioPage, unzip, type PlainRouting } from './pages.ts';

const FIX = join(import.meta.dirname, 'fixtures');

async function openFirstRun(page: Page): Promise<StudioPage> {
  await page.setViewportSize({ width: 1280, height: 720 });
  const studio = new StudioPage(page);
  await studio.open({ firstRun: true });
  await expect(studio.gpuStatus).toHaveAttribute('data-status', 'ready', { timeout: 60_000 });
  await expect(studio.stepEntry('model')).toHaveAttribute('data-state', 'done', { timeout: 60_000 });
  await expect(studio.stepEntry('data')).toHaveAttribute('data-state', 'done', { timeout: 60_000 });
  return studio;
}

/** Small settings for SwiftShader: a few steps at batch 2, no intuition (embedding 4,400 prompts one by one takes many minutes on a CPU). */
async function smallRun(studio: StudioPage, steps: number): Promise<void> {
  await studio.goto('method');
  await studio.methodField('intuition').selectOption('none');
  await studio.methodField('steps').fill(String(steps));
  await studio.methodField('batchSize').fill('2');
  await studio.methodField('maxLength').fill('64');
  await studio.methodField('warmupSteps').fill('1');
  await studio.methodField('evalEvery').fill('3');
  await studio.methodField('checkpointEvery').fill('0');
}

const step = (page: Page) => page.getByTestId('run-progress').getAttribute('data-step').then(Number);

/**
 * Checks routing read back from the GPU against what the route kernel must have written: each
 * token's router probabilities sum to 1, and with zero intuition scores the weights are
 * g = 32 w p on the kept experts (w = sigmoid(100 w_omega), one value per layer), 0 elsewhere.
 */
function checkZeroScoreRouting(r: PlainRouting, kept: number): void {
  const E = r.E, T = r.tokens.length;
  expect(r.layers.length).toBeGreaterThan(0);
  for (const l of r.layers) {
    expect(l.g.length, l.key).toBe(T * E);
    let ratio: number | null = null;
    for (let t = 0; t < T; t++) {
      const p = l.p.slice(t * E, (t + 1) * E), g = l.g.slice(t * E, (t + 1) * E);
      expect(Math.abs(p.reduce((a, b) => a + b, 0) - 1), `${l.key} token ${t}: Σp`).toBeLessThan(1e-4);
      const order = p.map((v, e) => [v, e] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]).map(([, e]) => e);
      const keep = new Set(order.slice(0, kept));
      const mass = order.slice(0, kept).reduce((a, e) => a + p[e], 0);
      for (let e = 0; e < E; e++) {
        if (!keep.has(e)) {
          expect(g[e], `${l.key} token ${t} expert ${e} (not kept)`).toBe(0);
          continue;
        }
        // Kept experts: g = 32 w p / mass (the probabilities renormalised over the kept set; mass 1 when dense).
        const r0 = (g[e] * mass) / p[e];
        ratio ??= r0;
        expect(Math.abs(r0 - ratio) / ratio, `${l.key} token ${t} expert ${e}: g / p`).toBeLessThan(1e-3);
      }
    }
    expect(ratio!, l.key).toBeGreaterThan(0);
    expect(ratio!, l.key).toBeLessThanOrEqual(32);
  }
}

test('first run: bundled model and suite ready, one button trains T-REX; pause, reload, restore, resume; experts, evaluation, playground', async ({ page }) => {
  test.setTimeout(900_000);
  const studio = await openFirstRun(page);
  await expect(page.getByTestId('model-source')).toHaveText('/models/mor1e-tiny/');
  await expect(page.getByTestId('model-fits')).toHaveAttribute('data-fits', 'yes');
  await studio.shot('model');
  await studio.goto('data');
  await expect(page.getByTestId('data-summary')).toContainText('4400 rows kept of 4400');
  await expect(page.getByTestId('data-tasks').locator('tbody tr')).toHaveCount(8);
  await expect(page.getByTestId('data-histogram')).toContainText('max 55');
  // The rows themselves, 50 at a time: the training file's first rows, the next page, the validation split.
  const range = page.getByTestId('preview-range'), rows = page.getByTestId('preview-row');
  await expect(range).toHaveText('Rows 1–50 of 4,400');
  await expect(rows).toHaveCount(50);
  await expect(rows.first().locator('td').nth(1)).toHaveText('1'); // line 1 of suite/train.jsonl
  expect((await rows.first().locator('td').nth(4).textContent())!.length).toBeGreaterThan(3); // the instruction's text
  await page.getByTestId('preview-next').click();
  await expect(range).toHaveText('Rows 51–100 of 4,400');
  await expect(rows.first().locator('td').first()).toHaveText('51');
  await page.getByTestId('preview-split').selectOption('validation');
  await expect(range).toHaveText('Rows 1–50 of 400');
  expect(new Set(await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-split'))))).toEqual(new Set(['validation']));
  await expect(rows.first().locator('td').nth(1)).toHaveText(/^suite\/validation\.jsonl:\d+$/);
  await page.getByTestId('preview-last').click();
  await expect(range).toHaveText('Rows 351–400 of 400');
  await expect(page.getByTestId('preview-next')).toBeDisabled();
  await page.getByTestId('preview-first').click();
  await expect(range).toHaveText('Rows 1–50 of 400');
  await studio.shot('data', page.getByTestId('preview-table'));

  // Method: T-REX 4 x 8 preselected; its trainable count on mor1e-tiny (4 blocks x q, k, v, o of 192 → 192, gate and up 192 → 512,
  // down 512 → 192; per layer r1·n + m·r2 + E·n + 2 gates) is 4 x (4 x 8,450 + 2 x 11,010 + 19,970) = 303,160.
  await studio.goto('method');
  await expect(page.getByTestId('preset-trex')).toHaveAttribute('aria-checked', 'true');
  await expect(page.getByTestId('method-trainable')).toHaveText('303,160 parameters');
  // An invalid combination is explained beside its field, and the run cannot start.
  await page.getByTestId('preset-sira').click();
  await studio.methodField('r').fill('12');
  await expect(page.getByTestId('method-error-r')).toContainText('multiple of 8');
  await expect(studio.stepEntry('method')).toHaveAttribute('data-state', 'error');
  await page.getByTestId('preset-trex').click();
  await expect(studio.stepEntry('method')).toHaveAttribute('data-state', 'done');
  await smallRun(studio, 6);
  await studio.shot('method');

  await studio.goto('train');
  const start = page.getByTestId('train-start');
  await expect(start).toHaveText('Start T-REX run');
  const small = 'T-REX 4 x 8, dense, no intuition; lr 0.005 cosine, 6 steps, batch 2';
  await expect(page.getByTestId('run-settings')).toHaveText(small);
  await start.click();
  await expect.poll(() => step(page), { timeout: 180_000 }).toBeGreaterThanOrEqual(2);
  await expect(page.getByTestId('run-current-settings')).toHaveCount(0); // the run is the form's: one line
  await expect(studio.stepEntry('train')).toHaveAttribute('data-state', 'active');
  await expect.poll(async () => Number(await page.getByTestId('chart-loss').getAttribute('data-points')), { timeout: 30_000 }).toBeGreaterThanOrEqual(2);
  await expect(page.getByTestId('chart-loss').locator('canvas')).toBeVisible();
  // The latest loss in words beside the chart's title (the legend has numbers only under the cursor).
  await expect(page.getByTestId('chart-loss-latest')).toHaveText(/^: \d+\.\d{3} at step \d+$/);
  await studio.shot('train-running');

  await page.getByTestId('train-pause').click();
  await expect(page.getByTestId('run-progress')).toHaveAttribute('data-status', 'paused', { timeout: 120_000 });
  const paused = await step(page);
  expect(paused).toBeLessThan(6);
  await page.waitForTimeout(1000);
  expect(await step(page)).toBe(paused);

  // A reload: the first-run defaults load again, and the paused run is in the saved list.
  const studio2 = await openFirstRun(page);
  await studio2.goto('train');
  const saved = page.getByTestId('saved-run').first();
  await expect(saved).toContainText(`${paused} / 6`);
  await saved.getByTestId('saved-run-restore').click();
  await expect(page.getByTestId('run-progress')).toHaveAttribute('data-status', 'paused', { timeout: 120_000 });
  expect(await step(page)).toBe(paused);
  // Restored, a T-REX run has no router statistics until its next step: said so, never "LoRA has no router".
  await studio2.goto('experts');
  await expect(page.getByTestId('experts-empty')).toContainText('a restored run keeps its curves', { timeout: 30_000 });
  await expect(studio2.stepEntry('experts')).not.toContainText('no router');
  await studio2.goto('train');
  await page.getByTestId('train-resume').click();
  await expect(page.getByTestId('run-progress')).toHaveAttribute('data-status', 'finished', { timeout: 240_000 });
  await expect(page.getByTestId('run-step')).toHaveText('step 6 / 6');
  // The reloaded page's Method form is back to the defaults; the restored run shows its own settings beside them.
  await expect(page.getByTestId('run-current-settings')).toHaveText(small);
  await expect(page.getByTestId('run-settings')).toHaveText('T-REX 4 x 8, dense, intuition from the base model; lr 0.005 cosine, 600 steps, batch 16');
  // One click puts the run's settings back into the Method step: one line again.
  await page.getByTestId('run-use-settings').click();
  await expect(page.getByTestId('run-settings')).toHaveText(small);
  await expect(page.getByTestId('run-current-settings')).toHaveCount(0);
  await expect(studio2.stepEntry('train')).toHaveAttribute('data-state', 'done');
  await expect(page.getByTestId('chart-loss')).toHaveAttribute('data-points', '6');
  await studio2.shot('train-finished');

  await studio2.goto('experts');
  await expect(page.getByTestId('experts-heatmap')).toBeVisible({ timeout: 30_000 });
  await expect(page.getByTestId('experts-layers').locator('tbody tr')).toHaveCount(28);
  await expect(page.getByTestId('experts-over-time')).toHaveAttribute('data-samples', /^[1-9]/);
  // One prompt token by token: the first validation row by default, through the run's adapter.
  const prompt = page.getByTestId('routing-prompt');
  await expect(prompt).not.toHaveValue('');
  const first = await prompt.inputValue();
  await page.getByTestId('routing-run').click();
  const strip = page.getByTestId('routing-strip');
  await expect(strip).toBeVisible({ timeout: 60_000 });
  await expect(strip).toHaveAttribute('data-experts', '32');
  await expect(strip).toHaveAttribute('data-layer', '0.q');
  await expect(page.getByTestId('routing-summary')).toContainText('no intuition: the gates read zero scores');
  await page.getByTestId('routing-layer').selectOption('3.down');
  await expect(strip).toHaveAttribute('data-layer', '3.down');
  await strip.focus();
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('ArrowRight');
  await expect(page.getByTestId('routing-cell')).toContainText(/^token 2 ".*", expert 1: routing weight -?\d\.\d{3}, router probability \d\.\d{3}/);
  await studio2.shot('experts', strip);
  // The numbers behind the strip, for the same prompt: the route kernel's output, read back (intuition none: zero scores, dense).
  const routed = await engineRouting(page, { prompt: first, template: true });
  await expect(strip).toHaveAttribute('data-tokens', String(routed.tokens.length));
  expect(routed).toMatchObject({ method: 'trex', E: 32, sSource: 'zeros' });
  expect(routed.layers.map((l) => l.key)).toHaveLength(28);
  checkZeroScoreRouting(routed, 32);

  await studio2.goto('evaluate');
  await page.getByTestId('eval-limit').selectOption('2');
  await page.getByTestId('eval-run').click();
  await expect(page.getByTestId('eval-mean-after')).toHaveText(/%$/, { timeout: 180_000 });
  await expect(page.getByTestId('eval-mean-before')).toHaveText(/%$/);
  await expect(page.getByTestId('eval-row')).toHaveCount(8);
  await expect(studio2.stepEntry('evaluate')).toHaveAttribute('data-state', 'done');
  await studio2.shot('evaluate');

  await studio2.goto('playground');
  // The prompt starts as the suite's first validation row, through the instruction template as the rows were trained.
  await expect(page.getByTestId('playground-template')).toBeChecked();
  await expect(page.getByTestId('playground-prompt')).toHaveValue(first); // the routing view's default prompt above
  await page.getByTestId('playground-prompt').fill('What is 2 plus 3?');
  await page.locator('input[type=number]').first().fill('4');
  await page.getByTestId('playground-side-by-side').check();
  await page.getByTestId('playground-generate').click();
  await expect(page.getByTestId('playground-generate')).toHaveText('Generate', { timeout: 60_000 });
  await expect(page.getByTestId('playground-error')).toHaveCount(0);
  await expect(page.getByTestId('playground-output')).not.toBeEmpty();
  await expect(page.getByTestId('playground-output-adapter')).not.toBeEmpty();
  // This run had no intuition: no cluster scores beside the prompt, and it says why.
  await expect(page.getByTestId('playground-scores-none')).toContainText('no intuition');
  await expect(page.getByTestId('playground-scores')).toHaveCount(0);
  await studio2.shot('playground');

  // Export: the adapter as a .zip in the mor1e format, unpacked and checked.
  await studio2.goto('export');
  const zip = await studio2.download(page.getByTestId('export-adapter'));
  expect(zip.name).toBe('mor1e-tiny-adapter.zip');
  const files = unzip(zip.bytes);
  expect(Object.keys(files)).toEqual(expect.arrayContaining(['mor1e_config.json', 'adapter_model.safetensors']));
  expect(jsonOf(files, 'mor1e_config.json')).toMatchObject({ format: 'mor1e-adapter', method: 'trex', r1: 4, r2: 8, E: 32 });
  const tensors = safetensorsHeader(files['adapter_model.safetensors']);
  expect(Object.keys(tensors).length).toBeGreaterThanOrEqual(28 * 3);
  expect(Object.values(tensors).every((t) => t.dtype === 'F32')).toBe(true);
  for (const [name, bytes] of Object.entries(files)) if (name.endsWith('.safetensors')) safetensorsHeader(bytes);
  await expect(page.getByTestId('export-files')).toContainText('mor1e_config.json');
  await studio2.shot('export');
  expect(await page.evaluate(() => window.mor1e!.gpuErrors())).toEqual([]);
});

test('the cluster map of a small dataset; a run with that intuition: the prompt\'s cluster scores, routing with them, per-cluster export', async ({ page }) => {
  test.setTimeout(420_000);
  const studio = await openFirstRun(page);
  await studio.goto('data');
  await page.getByTestId('data-file').setInputFiles(join(FIX, 'data', 'tasks.jsonl'));
  await expect(page.getByTestId('data-summary')).toContainText('tasks.jsonl');
  await studio.goto('method');
  await studio.methodField('k').fill('3');
  await studio.goto('clusters');
  await page.getByTestId('clusters-compute').click();
  await expect(page.getByTestId('clusters-map')).toBeVisible({ timeout: 120_000 });
  expect(Number(await page.getByTestId('clusters-map').getAttribute('data-points'))).toBeGreaterThan(10); // the training split's rows
  await expect(page.getByTestId('clusters-sizes').locator('tbody tr')).toHaveCount(3);
  await expect(page.getByTestId('clusters-nmi')).toHaveText(/^\d\.\d{3}$/);
  await expect(studio.stepEntry('clusters')).toHaveAttribute('data-state', 'done');
  await page.getByTestId('clusters-colour').selectOption('cluster');
  await studio.shot('clusters');

  // A short T-REX run with this intuition (the base model's embeddings, k = 3; a 32 x 3 mapper per layer).
  await studio.goto('method');
  await expect(studio.methodField('intuition')).toHaveValue('model');
  for (const [f, v] of [['steps', '2'], ['batchSize', '2'], ['maxLength', '64'], ['warmupSteps', '1'], ['evalEvery', '0'], ['checkpointEvery', '0']]) await studio.methodField(f).fill(v);
  await studio.goto('train');
  await page.getByTestId('train-start').click();
  await expect(page.getByTestId('run-progress')).toHaveAttribute('data-status', 'finished', { timeout: 180_000 });

  // The playground: beside the prompt, its scores over the 3 clusters, as generation through the adapter uses them.
  await studio.goto('playground');
  await page.getByTestId('playground-prompt').fill('Add 2 and 3.');
  const scores = page.getByTestId('playground-scores');
  await expect(scores).toHaveAttribute('data-k', '3', { timeout: 60_000 });
  await expect(scores.locator('.score-bar')).toHaveCount(3);
  await expect(scores).toContainText('Cluster scores (k = 3, from the base model)');
  await expect(scores.locator('.score-bar.top')).toHaveCount(1);
  const top = Number(await scores.getAttribute('data-top'));
  expect(await scores.locator('.score-bar').nth(top).getAttribute('title')).toMatch(new RegExp(`^cluster ${top}: -?\\d\\.\\d{3}$`));
  // The same scores as the worker's intuition gives a typed prompt.
  const direct = Array.from(await page.evaluate(() => window.mor1e!.intuitionScores(['Add 2 and 3.']).then((a) => Array.from(a))));
  const shown = await scores.locator('.score-bar').evaluateAll((bars) => bars.map((b) => Number(b.getAttribute('title')!.split(': ')[1])));
  shown.forEach((v, i) => expect(v).toBeCloseTo(direct[i], 3));
  expect(direct.indexOf(Math.max(...direct))).toBe(top);
  await studio.shot('playground-scores');

  // Experts: the routing strip reads the clusters' scores for the prompt.
  await studio.goto('experts');
  await page.getByTestId('routing-prompt').fill('Add 2 and 3.');
  await page.getByTestId('routing-run').click();
  await expect(page.getByTestId('routing-strip')).toBeVisible({ timeout: 60_000 });
  await expect(page.getByTestId('routing-summary')).toContainText('intuition scores from the clusters');
  const routed = await engineRouting(page, { prompt: 'Add 2 and 3.', template: true });
  expect(routed.sSource).toBe('intuition');
  routed.s!.forEach((v, i) => expect(v).toBeCloseTo(direct[i], 4));
  await studio.shot('experts-intuition', page.getByTestId('routing-strip'));

  // Per-cluster export: one static LoRA per cluster, their report, unpacked and checked.
  await studio.goto('export');
  const zip = await studio.download(page.getByTestId('export-per-cluster'));
  expect(zip.name).toBe('mor1e-tiny-per-cluster.zip');
  const files = unzip(zip.bytes);
  const configs = Object.keys(files).filter((f) => f.endsWith('/adapter_config.json'));
  expect(configs).toHaveLength(3);
  for (const c of configs) {
    expect(jsonOf(files, c)).toMatchObject({ peft_type: 'LORA' });
    const st = safetensorsHeader(files[c.replace('adapter_config.json', 'adapter_model.safetensors')]);
    expect(Object.keys(st).some((k) => k.includes('lora_A'))).toBe(true);
  }
  expect(jsonOf(files, 'clusters.json')).toMatchObject({ format: 'mor1e-per-cluster', method: 'trex', intuition: { source: 'model', k: 3 } });
  expect((jsonOf(files, 'report.json').clusters as unknown[]).length).toBe(3);
  await expect(page.getByTestId('cluster-report').locator('tbody tr')).toHaveCount(3);
  await studio.shot('export-per-cluster');
});

test('export step: a trained adapter downloads as a zip; an adapter folder loads and drives the playground', async ({ page }) => {
  test.setTimeout(240_000);
  await page.setViewportSize({ width: 1280, height: 720 });
  const studio = new StudioPage(page);
  await studio.open();
  await expect(studio.gpuStatus).toHaveAttribute('data-status', 'ready', { timeout: 60_000 });
  await page.evaluate(() => window.mor1e!.loadModel('/e2e/fixtures/models/tiny-gpt2/'));
  await expect(studio.stepEntry('export')).toHaveAttribute('data-state', 'ready');
  await page.evaluate(async () => {
    const text = await (await fetch('/e2e/fixtures/data/tasks.jsonl')).text();
    await window.mor1e!.importDataset({ name: 'tasks.jsonl', text }, { seed: 5, validationFraction: 0.25 });
    await window.mor1e!.startRun({ method: 'lora', r: 4, init: 'fresh', steps: 400, batchSize: 4, lr: 1e-2, schedule: 'constant', seed: 1 });
  });
  // Stopped with steps left: saved as 'stopped', restorable (paused) below.
  await expect.poll(() => page.evaluate(() => window.mor1e!.runState().then((s) => s.step)), { timeout: 120_000 }).toBeGreaterThanOrEqual(2);
  const stopped = await page.evaluate(() => window.mor1e!.stopRun());
  expect(stopped.status).toBe('stopped');
  expect(stopped.step).toBeLessThan(400);
  await studio.goto('export');
  const zip = await studio.download(page.getByTestId('export-adapter'));
  expect(zip.name).toBe('tiny-gpt2-adapter.zip');
  await expect(page.getByTestId('export-files')).toContainText('adapter_config.json');
  await expect(page.getByTestId('export-files')).toContainText('adapter_model.safetensors');
  // The zip itself: a PEFT LoRA of rank 4 whose safetensors header is valid and agrees with the file.
  const files = unzip(zip.bytes);
  expect(Object.keys(files).sort()).toEqual(['adapter_config.json', 'adapter_model.safetensors']);
  expect(jsonOf(files, 'adapter_config.json')).toMatchObject({ peft_type: 'LORA', r: 4 });
  const tensors = safetensorsHeader(files['adapter_model.safetensors']);
  const names = Object.keys(tensors);
  expect(names.filter((n) => n.endsWith('lora_A.weight')).length).toBe(names.filter((n) => n.endsWith('lora_B.weight')).length);
  expect(names.filter((n) => n.endsWith('lora_A.weight')).every((n) => tensors[n].shape[0] === 4)).toBe(true);
  // Exports that do not apply to a LoRA are offered as such: per-cluster (no routing) is off, saying why; merged is on.
  await expect(page.getByTestId('export-per-cluster')).toBeDisabled();
  await expect(page.getByTestId('export-per-cluster-what')).toContainText('Not for this adapter: a LoRA has no routing to freeze');
  await expect(page.getByTestId('export-merged')).toBeEnabled();
  // No router, no routing strip: the Experts step says so instead.
  await studio.goto('experts');
  await expect(page.getByTestId('routing-no-router')).toContainText('LoRA) has no router', { timeout: 30_000 });
  await page.getByTestId('routing-prompt').fill('Reverse the word: sun');
  await page.getByTestId('routing-run').click();
  await expect(page.getByTestId('routing-no-router')).toContainText('This adapter (LoRA) has no router');
  await expect(page.getByTestId('routing-strip')).toHaveCount(0);
  await studio.goto('export');
  // The downloaded .zip loads back as it is (it becomes the active adapter, freeing the run's).
  await page.getByTestId('adapter-files').setInputFiles({ name: zip.name, mimeType: 'application/zip', buffer: Buffer.from(zip.bytes) });
  await expect(page.getByTestId('adapter-loaded')).toContainText('Loaded LoRA (peft)');
  // Loading the PyTorch-written T-REX fixture adapter: described, and generation runs through it.
  const dir = join(FIX, 'adapters', 'tiny-gpt2-trex');
  await page.getByTestId('adapter-files').setInputFiles(['adapter_model.safetensors', 'intuition.safetensors', 'mor1e_config.json'].map((f) => join(dir, f)));
  await expect(page.getByTestId('adapter-loaded')).toContainText('Loaded T-REX (mor1e)');
  // Loading freed the LoRA run's adapter in the worker: the studio says which adapter is active now, and the Train step has no run.
  await expect(page.getByTestId('export-active')).toHaveText('Active adapter: the loaded T-REX adapter (below)');
  // A T-REX adapter routes per token: no merged export, saying why.
  await expect(page.getByTestId('export-merged')).toBeDisabled();
  await expect(page.getByTestId('export-merged-what')).toContainText('only a LoRA merges into the weights');
  await expect(studio.stepEntry('export')).toContainText('loaded T-REX adapter');
  await expect(studio.stepEntry('train')).not.toContainText('steps');
  const g = await page.evaluate(() => window.mor1e!.generate({ prompt: 'Reverse the word: sun', maxNewTokens: 3, temperature: 0, adapter: true, s: [0.2, 0.1, 0, 0.3, -0.1] }));
  expect(g.promptIds.length).toBeGreaterThan(0);
  // Its routing (top-4 of 6 experts, a 6 x 5 mapper, GPT-2's fused layers), read back with zero scores.
  const routed = await engineRouting(page, { prompt: 'Reverse the word: sun', s: [0, 0, 0, 0, 0] });
  expect(routed).toMatchObject({ method: 'trex', E: 6, sSource: 'given' });
  expect(routed.tokens.map((t) => t.id)).toEqual(g.promptIds);
  checkZeroScoreRouting(routed, 4);
  // Its intuition came from supplied vectors: a typed prompt cannot be scored, and the studio says so where it is asked.
  await studio.goto('experts');
  await page.getByTestId('routing-prompt').fill('Reverse the word: sun');
  await page.getByTestId('routing-run').click();
  await expect(page.getByTestId('routing-error')).toContainText('supplied vectors');
  await expect(page.getByTestId('routing-needs-adapter')).toHaveCount(0); // the loaded adapter is one
  await expect(studio.stepEntry('experts')).toContainText('route a prompt');
  await studio.goto('playground');
  await page.getByTestId('playground-prompt').fill('Reverse the word: sun');
  await expect(page.getByTestId('playground-scores-none')).toContainText('supplied vectors');
  // With no run, the loaded adapter drives the playground and the evaluation from the UI too.
  await expect(page.getByTestId('playground-side-by-side')).toBeEnabled();
  await studio.goto('evaluate');
  await expect(page.getByTestId('eval-run')).toHaveText('Evaluate before and after');
  // Back on the Export step, the loaded adapter is still described; unloading leaves the base model alone.
  await studio.goto('export');
  await expect(page.getByTestId('adapter-loaded')).toContainText('Loaded T-REX (mor1e)');
  await page.getByRole('button', { name: 'Unload' }).click();
  await expect(page.getByTestId('export-active')).toHaveText('Active adapter: none yet: train one (Train step) or load one below');
  await expect(page.getByTestId('adapter-loaded')).toHaveCount(0);
  await studio.goto('playground');
  await expect(page.getByTestId('playground-side-by-side')).toBeDisabled();
  // A loaded adapter, then the saved LoRA run restored: the run's adapter is the active one (the loaded one used to shadow it).
  await studio.goto('export');
  await page.getByTestId('adapter-files').setInputFiles(['adapter_model.safetensors', 'intuition.safetensors', 'mor1e_config.json'].map((f) => join(dir, f)));
  await expect(page.getByTestId('adapter-loaded')).toContainText('Loaded T-REX (mor1e)');
  await studio.goto('train');
  await page.getByTestId('saved-run').first().getByTestId('saved-run-restore').click();
  await expect(page.getByTestId('run-progress')).toHaveAttribute('data-status', 'paused', { timeout: 60_000 }); // a stopped run with steps left restores paused at its checkpoint
  await expect(page.getByTestId('run-current-settings')).toContainText('LoRA r = 4');
  await studio.goto('export');
  await expect(page.getByTestId('export-active')).toHaveText(`Active adapter: the run's (LoRA, paused at step ${stopped.step})`);
  await expect(page.getByTestId('adapter-loaded')).toHaveCount(0);
  const again = unzip((await studio.download(page.getByTestId('export-adapter'))).bytes);
  expect(Object.keys(again).sort()).toEqual(['adapter_config.json', 'adapter_model.safetensors']);
  // A paused run refuses another model before its download; stopped, the new model frees the run's adapter and the studio drops the run.
  await expect(page.evaluate(() => window.mor1e!.loadModel('/e2e/fixtures/models/tiny-llama/'))).rejects.toThrow(/a run is paused: stop it before loading another model/);
  expect(await page.evaluate(() => window.mor1e!.stopRun())).toMatchObject({ status: 'stopped', step: stopped.step });
  await page.evaluate(() => window.mor1e!.loadModel('/e2e/fixtures/models/tiny-llama/'));
  await expect(page.getByTestId('export-active')).toHaveText('Active adapter: none yet: train one (Train step) or load one below');
  await studio.goto('train');
  await expect(page.getByTestId('run-progress')).toHaveCount(0);
  await expect(page.getByTestId('saved-run')).not.toHaveCount(0); // its checkpoint stays
  // The GPT-2 adapter on the Llama model now loaded: refused beside the file picker, saying why; nothing becomes active.
  await studio.goto('export');
  await page.getByTestId('adapter-files').setInputFiles(['adapter_model.safetensors', 'intuition.safetensors', 'mor1e_config.json'].map((f) => join(dir, f)));
  await expect(page.getByTestId('adapter-load-error')).toContainText('the adapter was trained on another base model ("tiny-gpt2")');
  await expect(page.getByTestId('export-active')).toHaveText('Active adapter: none yet: train one (Train step) or load one below');
});
