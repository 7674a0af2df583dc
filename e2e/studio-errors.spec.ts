// The studio when things go wrong (issue 14): each error appears where it happens, in plain words,
// and the rest of the studio keeps working. Covered elsewhere and not repeated here: a
// navigator.gpu that reads undefined (app.spec.ts), truncated or lying safetensors, a missing
// tokenizer and an unknown model_type (models.spec.ts: the Model step's message), and the Data
// step's problem list for tasks.jsonl (data.spec.ts).
import { test, expect, type Page } from '@playwright/test';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { StudioPage } from './pages.ts';

const ROOT = join(import.meta.dirname, '..');

async function openReady(page: Page, opts: { firstRun?: boolean } = {}): Promise<StudioPage> {
  await page.setViewportSize({ width: 1280, height: 720 });
  const studio = new StudioPage(page);
  await studio.open(opts);
  await expect(studio.gpuStatus).toHaveAttribute('data-status', 'ready', { timeout: 60_000 });
  return studio;
}

test('no WebGPU at all (navigator.gpu deleted before the app loads): a plain message, not a blank page', async ({ page }) => {
  await page.addInitScript(() => {
    // Chromium defines gpu on Navigator.prototype; with it gone, `'gpu' in navigator` is false.
    delete (Navigator.prototype as { gpu?: unknown }).gpu;
  });
  const studio = new StudioPage(page);
  await studio.open();
  expect(await page.evaluate(() => 'gpu' in navigator)).toBe(false);
  await expect(studio.gpuStatus).toHaveAttribute('data-status', 'unavailable');
  await expect(studio.gpuStatus).toContainText('No WebGPU');
  const alert = page.getByRole('alert');
  await expect(alert.getByRole('heading', { name: 'WebGPU is not available' })).toBeVisible();
  await expect(studio.gpuError).toContainText('navigator.gpu is missing');
  await expect(studio.gpuError).toContainText('Chrome or Edge (113+)');
  // Instead of steps whose panels could never work, only the message: nothing blank, nothing half-started.
  await expect(studio.stepEntry('model')).toHaveCount(0);
  await expect(page.locator('main')).toHaveCount(0);
  await studio.shot('no-webgpu');
});

test('a model folder without its weights: the Model step names the missing file and the bundled model stays', async ({ page }) => {
  test.setTimeout(120_000);
  const studio = await openReady(page);
  await studio.goto('model');
  await page.getByTestId('model-load-bundled').click();
  await expect(page.getByTestId('model-info')).toHaveAttribute('data-model-type', 'llama', { timeout: 60_000 });
  const dir = join(ROOT, 'public', 'models', 'mor1e-tiny');
  const files = readdirSync(dir).filter((f) => f !== 'model.safetensors').map((f) => ({ name: f, mimeType: 'application/octet-stream', buffer: readFileSync(join(dir, f)) }));
  expect(files.map((f) => f.name)).toContain('config.json');
  await page.getByTestId('model-tab-files').click();
  await page.getByTestId('model-files').setInputFiles(files);
  await expect(page.getByTestId('model-error')).toContainText('model.safetensors not found in the chosen files', { timeout: 30_000 });
  await expect(page.getByTestId('model-error')).toHaveAttribute('role', 'alert');
  await expect(studio.stepEntry('model')).toHaveAttribute('data-state', 'error');
  // The model loaded before is still the one in use.
  await expect(page.getByTestId('model-source')).toHaveText('/models/mor1e-tiny/');
  await studio.shot('model-missing-weights');
});

test('a JSONL with one malformed line: the problem names the line, every good row is kept and previewed as text', async ({ page }) => {
  test.setTimeout(120_000);
  const studio = await openReady(page);
  await studio.goto('data');
  const lines = [
    { instruction: 'Add 2 and 3.', output: '5', task: 'add' },
    { instruction: 'Reverse the word: sun', output: 'nus', task: 'reverse' },
    null, // the malformed line
    { instruction: 'Is <b>this</b> markup? <img src=x onerror="window.__xss = 1">', output: '<i>no</i>', task: 'html' },
    { instruction: 'Add 4 and 4.', output: '8', task: 'add' },
  ];
  const text = lines.map((l) => (l ? JSON.stringify(l) : '{"instruction": "Add 1 and 1.", "output": "2", "task": "add"')).join('\n') + '\n';
  await page.getByTestId('data-file').setInputFiles({ name: 'one-bad-line.jsonl', mimeType: 'application/jsonl', buffer: Buffer.from(text) });
  const summary = page.getByTestId('data-summary');
  await expect(summary).toContainText('one-bad-line.jsonl');
  await expect(summary).toContainText('4 rows kept of 5 (1 refused');
  const problems = page.getByTestId('data-problems');
  await expect(problems).toHaveAttribute('open', '');
  await expect(problems.locator('li')).toHaveCount(1);
  await expect(problems.locator('li')).toHaveText(/^line 3: bad JSON/);
  // The preview: the four good rows with their own file lines, the markup shown literally.
  await expect(page.getByTestId('preview-range')).toHaveText('Rows 1–4 of 4');
  const rows = page.getByTestId('preview-row');
  await expect(rows).toHaveCount(4);
  expect(await rows.locator('td:nth-child(2)').allTextContents()).toEqual(['1', '2', '4', '5']);
  await expect(rows.nth(2)).toContainText('Is <b>this</b> markup? <img src=x onerror="window.__xss = 1">');
  await expect(rows.nth(2)).toContainText('<i>no</i>');
  await expect(page.getByTestId('preview-table').locator('b, i, img')).toHaveCount(0);
  expect(await page.evaluate(() => (window as { __xss?: number }).__xss)).toBeUndefined();
  await expect(page.getByTestId('preview-next')).toBeDisabled();
  await studio.shot('data-bad-line');
});

test('a configuration that does not fit the GPU: the Method step says why and the run cannot start', async ({ page }) => {
  test.setTimeout(180_000);
  const studio = await openReady(page, { firstRun: true });
  await expect(studio.stepEntry('data')).toHaveAttribute('data-state', 'done', { timeout: 90_000 });
  const cap = await page.evaluate(() => {
    const g = window.mor1e!.gpuStatus();
    return g.status === 'ready' ? Math.min(g.limits.maxStorageBufferBindingSize, g.limits.maxBufferSize) : 0;
  });
  expect(cap).toBeGreaterThan(0);
  await studio.goto('method');
  await expect(page.getByTestId('method-error-memory')).toHaveCount(0);
  // 200,000 rows of 54 tokens: the MLP's activations alone are 200,000 x 54 x 512 floats (22 GB) in one buffer.
  await studio.methodField('batchSize').fill('200000');
  const err = page.getByTestId('method-error-memory');
  await expect(err).toContainText(`this GPU binds at most ${(cap / 2 ** 20).toFixed(0)} MiB per buffer`);
  await expect(err).toContainText('for batch 200000 x 54 tokens');
  await expect(err).toContainText(/use a batch of \d+/);
  await expect(studio.stepEntry('method')).toHaveAttribute('data-state', 'error');
  await studio.shot('method-does-not-fit');
  await studio.goto('train');
  await expect(page.getByTestId('train-start')).toBeDisabled();
  await expect(page.getByTestId('train-blocked')).toContainText('Fix the method settings first: memory: This run needs a');
  await expect(studio.stepEntry('train')).toHaveAttribute('data-state', 'blocked');
  // The batch it suggests fits: the message goes and the run can start.
  await studio.goto('method');
  const fits = Number((await page.getByTestId('method-error-memory').textContent())!.match(/use a batch of (\d+)/)![1]);
  await studio.methodField('batchSize').fill(String(fits));
  await expect(page.getByTestId('method-error-memory')).toHaveCount(0);
  await studio.goto('train');
  await expect(page.getByTestId('train-start')).toBeEnabled();
});
