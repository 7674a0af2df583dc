// The studio page: the engine worker acquires the GPU and the page shows the adapter; without
// WebGPU the page says so plainly and names what to enable.
import { test, expect } from '@playwright/test';
import { StudioPage } from './pages.ts';

test('shows the adapter, its features and limits from the engine worker', async ({ page }) => {
  const studio = new StudioPage(page);
  await studio.open();
  await expect(studio.gpuStatus).toHaveAttribute('data-status', 'ready', { timeout: 60_000 });
  const gpu = await page.evaluate(() => window.mor1e!.gpuStatus());
  if (gpu.status !== 'ready') throw new Error(`expected a ready GPU, got ${JSON.stringify(gpu)}`);
  console.log(`[app] adapter: ${gpu.adapterName}`);
  await expect(studio.gpuAdapter).toContainText(gpu.adapterName);
  await studio.showGpuDetails();
  await expect(studio.page.getByText('maxStorageBufferBindingSize')).toBeVisible();
  expect(gpu.limits.maxStorageBuffersPerShaderStage).toBeGreaterThanOrEqual(8);
  expect(await page.evaluate(() => window.mor1e!.gpuErrors())).toEqual([]);
});

test('without WebGPU the page explains what to enable instead of going blank', async ({ page }) => {
  await page.addInitScript(() => {
    Object.defineProperty(Navigator.prototype, 'gpu', { configurable: true, get: () => undefined });
  });
  const studio = new StudioPage(page);
  await studio.open();
  await expect(studio.gpuStatus).toHaveAttribute('data-status', 'unavailable');
  await expect(studio.gpuError).toContainText('navigator.gpu is missing');
  await expect(studio.gpuError).toContainText('chrome://flags/#enable-unsafe-webgpu');
  await expect(page.getByRole('heading', { name: 'MoR1E Studio' })).toBeVisible();
});
