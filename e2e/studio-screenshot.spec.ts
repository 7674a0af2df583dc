// Regenerates docs/studio-run.png, the README's picture of the studio during a run: the first-run
// defaults (bundled model and suite), T-REX with small SwiftShader-sized settings, the Train step
// captured mid-run at 1280 x 720 (about 11 minutes on SwiftShader). Skipped unless
// MOR1E_UPDATE_SCREENSHOTS=1:
//   MOR1E_UPDATE_SCREENSHOTS=1 npx playwright test e2e/studio-screenshot.spec.ts
import { test, expect } from '@playwright/test';
import { join } from 'node:path';
import { StudioPage } from './pages.ts';

const OUT = join(import.meta.dirname, '..', 'docs', 'studio-run.png');

test('docs/studio-run.png: the studio during a run', async ({ page }) => {
  test.skip(process.env.MOR1E_UPDATE_SCREENSHOTS !== '1', 'set MOR1E_UPDATE_SCREENSHOTS=1 to regenerate docs/studio-run.png');
  test.setTimeout(900_000);
  await page.setViewportSize({ width: 1280, height: 720 });
  const studio = new StudioPage(page);
  await studio.open({ firstRun: true });
  await expect(studio.stepEntry('data')).toHaveAttribute('data-state', 'done', { timeout: 120_000 });
  await studio.goto('method');
  await studio.methodField('intuition').selectOption('none');
  for (const [f, v] of [['steps', '60'], ['batchSize', '4'], ['maxLength', '64'], ['warmupSteps', '4'], ['evalEvery', '10'], ['checkpointEvery', '0'], ['lr', '0.004']]) await studio.methodField(f).fill(v);
  await studio.goto('train');
  await page.getByTestId('train-start').click();
  const step = () => page.getByTestId('run-progress').getAttribute('data-step').then(Number);
  await expect.poll(step, { timeout: 780_000, intervals: [2000] }).toBeGreaterThanOrEqual(42);
  await expect(page.getByTestId('run-progress')).toHaveAttribute('data-status', 'running');
  await page.screenshot({ path: OUT });
  await studio.shot('studio-run');
});
