// Page objects for the studio UI, keyed by data-testid.
import type { Locator, Page } from '@playwright/test';

export class StudioPage {
  readonly page: Page;
  readonly gpuStatus: Locator;
  readonly gpuAdapter: Locator;
  readonly gpuFeatures: Locator;
  readonly gpuError: Locator;
  constructor(page: Page) {
    this.page = page;
    this.gpuStatus = page.getByTestId('gpu-status');
    this.gpuAdapter = page.getByTestId('gpu-adapter');
    this.gpuFeatures = page.getByTestId('gpu-features');
    this.gpuError = page.getByTestId('gpu-error');
  }
  async open(): Promise<void> {
    await this.page.goto('/');
  }
}
