// The studio as a person meets it (issues 13 and 14): on first open the bundled model and suite
// are loaded and the Method step holds T-REX; one button starts a run whose step counter and loss
// curve move; pause, a reload, the saved run restored and resumed to its end; the expert heatmap;
// evaluation before and after; generation with and without the adapter. A second test computes
// the cluster map of a small file. SwiftShader runs a step of the tiny model in seconds, so the
// runs are a few steps at batch 2 and evaluation reads two rows per task.
import { test, expect, type Page } from '@playwright/test';
import { join } from 'node:path';
import { StudioPage } from './pages.ts';

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

/** Small settings for SwiftShader: a few steps at batch 2, no intuition (embedding 4,950 prompts one by one takes many minutes on a CPU). */
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

test('first run: bundled model and suite ready, one button trains T-REX; pause, reload, restore, resume; experts, evaluation, playground', async ({ page }) => {
  test.setTimeout(600_000);
  const studio = await openFirstRun(page);
  await expect(page.getByTestId('model-source')).toHaveText('/models/mor1e-tiny/');
  await expect(page.getByTestId('model-fits')).toHaveAttribute('data-fits', 'yes');
  await studio.goto('data');
  await expect(page.getByTestId('data-summary')).toContainText('4950 rows kept of 4950');
  await expect(page.getByTestId('data-tasks').locator('tbody tr')).toHaveCount(9);
  await expect(page.getByTestId('data-histogram')).toContainText('max 55');

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

  await studio.goto('train');
  const start = page.getByTestId('train-start');
  await expect(start).toHaveText('Start T-REX run');
  await start.click();
  await expect.poll(() => step(page), { timeout: 180_000 }).toBeGreaterThanOrEqual(2);
  await expect(studio.stepEntry('train')).toHaveAttribute('data-state', 'active');
  await expect.poll(async () => Number(await page.getByTestId('chart-loss').getAttribute('data-points')), { timeout: 30_000 }).toBeGreaterThanOrEqual(2);
  await expect(page.getByTestId('chart-loss').locator('canvas')).toBeVisible();

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
  await page.getByTestId('train-resume').click();
  await expect(page.getByTestId('run-progress')).toHaveAttribute('data-status', 'finished', { timeout: 240_000 });
  await expect(page.getByTestId('run-step')).toHaveText('step 6 / 6');
  await expect(studio2.stepEntry('train')).toHaveAttribute('data-state', 'done');
  await expect(page.getByTestId('chart-loss')).toHaveAttribute('data-points', '6');

  await studio2.goto('experts');
  await expect(page.getByTestId('experts-heatmap')).toBeVisible({ timeout: 30_000 });
  await expect(page.getByTestId('experts-layers').locator('tbody tr')).toHaveCount(28);
  await expect(page.getByTestId('experts-over-time')).toHaveAttribute('data-samples', /^[1-9]/);

  await studio2.goto('evaluate');
  await page.getByTestId('eval-limit').selectOption('2');
  await page.getByTestId('eval-run').click();
  await expect(page.getByTestId('eval-mean-after')).toHaveText(/%$/, { timeout: 180_000 });
  await expect(page.getByTestId('eval-mean-before')).toHaveText(/%$/);
  await expect(page.getByTestId('eval-row')).toHaveCount(9);
  await expect(studio2.stepEntry('evaluate')).toHaveAttribute('data-state', 'done');

  await studio2.goto('playground');
  await page.getByTestId('playground-prompt').fill('### Instruction:\nWhat is 2 plus 3?\n\n### Response:\n');
  await page.locator('input[type=number]').first().fill('4');
  await page.getByTestId('playground-side-by-side').check();
  await page.getByTestId('playground-generate').click();
  await expect(page.getByTestId('playground-generate')).toHaveText('Generate', { timeout: 60_000 });
  await expect(page.getByTestId('playground-error')).toHaveCount(0);
  await expect(page.getByTestId('playground-output')).not.toBeEmpty();
  await expect(page.getByTestId('playground-output-adapter')).not.toBeEmpty();
  await page.screenshot({ path: test.info().outputPath('playground.png') });
  expect(await page.evaluate(() => window.mor1e!.gpuErrors())).toEqual([]);
});

test('the cluster map of a small dataset: points coloured by task, sizes, purity and NMI', async ({ page }) => {
  test.setTimeout(240_000);
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
  await page.screenshot({ path: test.info().outputPath('clusters.png') });
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
    await window.mor1e!.startRun({ method: 'lora', r: 4, init: 'fresh', steps: 2, batchSize: 4, lr: 1e-2, schedule: 'constant', seed: 1 });
  });
  await expect.poll(() => page.evaluate(() => window.mor1e!.runState().then((s) => s.status)), { timeout: 120_000 }).toBe('finished');
  await studio.goto('export');
  const [dl] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-adapter').click()]);
  expect(dl.suggestedFilename()).toBe('tiny-gpt2-adapter.zip');
  await expect(page.getByTestId('export-files')).toContainText('adapter_config.json');
  await expect(page.getByTestId('export-files')).toContainText('adapter_model.safetensors');
  // A routed export of a LoRA is refused with the reason, in the panel.
  await page.getByTestId('export-per-cluster').click();
  await expect(page.getByTestId('export-error')).toContainText(/LoRA has no routing/);
  // Loading the PyTorch-written T-REX fixture adapter: described, and generation runs through it.
  const dir = join(FIX, 'adapters', 'tiny-gpt2-trex');
  await page.getByTestId('adapter-files').setInputFiles(['adapter_model.safetensors', 'intuition.safetensors', 'mor1e_config.json'].map((f) => join(dir, f)));
  await expect(page.getByTestId('adapter-loaded')).toContainText('Loaded trex (mor1e)');
  const g = await page.evaluate(() => window.mor1e!.generate({ prompt: 'Reverse the word: sun', maxNewTokens: 3, temperature: 0, adapter: true, s: [0.2, 0.1, 0, 0.3, -0.1] }));
  expect(g.promptIds.length).toBeGreaterThan(0);
});
