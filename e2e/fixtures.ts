// Playwright fixtures: `gpu` is one harness page (one device) shared by every GPU spec in the
// worker. It fails, never skips, when WebGPU or an adapter is missing, and logs the adapter.
import { test as base, expect, type Page } from '@playwright/test';
import type { HarnessApi, HarnessInfo, KernelCall } from './harness/api.ts';

export class GpuHarness {
  readonly page: Page;
  info!: HarnessInfo;
  constructor(page: Page) {
    this.page = page;
  }

  async open(): Promise<void> {
    await this.page.goto('/e2e/harness.html');
    await this.page.waitForFunction(() => window.harness !== undefined || window.harnessError !== undefined, null, { timeout: 60_000 });
    const error = await this.page.evaluate(() => window.harnessError);
    if (error) throw new Error(`No WebGPU device in the test browser, so GPU tests cannot run: ${error}`);
    this.info = await this.page.evaluate(() => window.harness!.info());
    console.log(`[gpu] adapter: ${this.info.adapterName}; features: ${this.info.features.join(', ') || 'none'}`);
  }

  /** Runs one launcher on the GPU; resolves to every output read back. */
  run(call: KernelCall): Promise<Record<string, number[]>> {
    return this.page.evaluate((c) => window.harness!.run(c), call);
  }

  /** Runs one launcher under the engine's kernel profile: its outputs and each kernel's GPU time. */
  profile(call: KernelCall): ReturnType<HarnessApi['profile']> {
    return this.page.evaluate((c) => window.harness!.profile(c), call);
  }

  /** Fails the test if the engine saw any GPU error (validation, compilation, device lost). */
  async expectNoGpuErrors(): Promise<void> {
    const errors = await this.page.evaluate(() => (window.harness as HarnessApi).errors());
    expect(errors, 'GPU errors reported by the engine').toEqual([]);
  }
}

export const test = base.extend<object, { gpu: GpuHarness }>({
  gpu: [
    async ({ browser }, use) => {
      const page = await browser.newPage();
      page.on('console', (m) => {
        if (m.type() === 'error') console.log(`[page error] ${m.text()}`);
      });
      const h = new GpuHarness(page);
      await h.open();
      await use(h);
      await page.close();
    },
    { scope: 'worker' },
  ],
});

export { expect };
