// Page objects for the studio UI, keyed by data-testid.
import { expect, type Locator, type Page } from '@playwright/test';

export type StudioStep = 'model' | 'data' | 'method' | 'train' | 'experts' | 'clusters' | 'evaluate' | 'playground' | 'export';

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
  /**
   * Opens the studio. Under automation it starts empty (specs load their own fixtures); `firstRun`
   * asks for the first-open defaults a person gets: the bundled model and suite.
   */
  async open(opts: { firstRun?: boolean } = {}): Promise<void> {
    await this.page.goto(opts.firstRun ? '/?first-run=1' : '/');
  }
  /** Features and the limits table sit behind the header's "details" toggle. */
  async showGpuDetails(): Promise<void> {
    await this.page.getByTestId('gpu-details-toggle').click();
  }
  /** The left column's entry of a step (its data-state: done, active, ready, blocked, error). */
  stepEntry(step: StudioStep): Locator {
    return this.page.getByTestId(`step-${step}`);
  }
  /** Opens a step in the main area. */
  async goto(step: StudioStep): Promise<void> {
    await this.stepEntry(step).click();
    await expect(this.page.getByTestId(`main-${step}`)).toBeVisible();
  }
  /** A Method step field (number, select or text) by its form name. */
  methodField(name: string): Locator {
    return this.page.getByTestId(`method-${name}`);
  }
}
