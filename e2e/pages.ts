// Page objects for the studio UI, keyed by data-testid, and helpers for what the studio hands
// out: screenshots as test artefacts, the engine API the UI talks to, downloaded .zip exports.
import { readFileSync } from 'node:fs';
import { unzipSync } from 'fflate';
import { expect, test, type Download, type Locator, type Page } from '@playwright/test';
import type { RoutingRequest } from '../src/worker/api.ts';

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
  /** A screenshot of the page now (scrolled to `show` first), saved in the test's output folder and attached to its report. */
  async shot(name: string, show?: Locator): Promise<void> {
    if (show) await show.scrollIntoViewIfNeeded();
    const info = test.info();
    const path = info.outputPath(`${name}.png`);
    await this.page.screenshot({ path });
    await info.attach(name, { path, contentType: 'image/png' });
  }
  /** Downloads what clicking `button` offers and returns the file's bytes and suggested name. */
  async download(button: Locator): Promise<{ name: string; bytes: Uint8Array }> {
    const [dl] = await Promise.all([this.page.waitForEvent('download'), button.click()]);
    return { name: dl.suggestedFilename(), bytes: await downloadBytes(dl) };
  }
}

async function downloadBytes(dl: Download): Promise<Uint8Array> {
  const path = await dl.path();
  return new Uint8Array(readFileSync(path));
}

/** A routing result with its typed arrays as plain arrays (they cross page.evaluate that way). */
export interface PlainRouting {
  E: number;
  method: string;
  tokens: Array<{ id: number; text: string }>;
  s: number[] | null;
  sSource: string | null;
  layers: Array<{ key: string; g: number[]; p: number[] }>;
}

/** The worker's routing() through the test API (window.mor1e.routing), so a spec can check the numbers the strip draws. */
export async function engineRouting(page: Page, req: RoutingRequest): Promise<PlainRouting> {
  return page.evaluate(async (r) => {
    const res = await window.mor1e!.routing(r);
    return { ...res, layers: res.layers.map((l) => ({ key: l.key, g: Array.from(l.g), p: Array.from(l.p) })) };
  }, req);
}

/** The files of a .zip, by path. */
export function unzip(bytes: Uint8Array): Record<string, Uint8Array> {
  return unzipSync(bytes);
}

/**
 * A safetensors file's header, checked: an 8-byte little-endian length, that many bytes of JSON,
 * and every tensor's dtype, shape and data offsets agreeing with each other and the file's size.
 */
export function safetensorsHeader(bytes: Uint8Array): Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }> {
  expect(bytes.length).toBeGreaterThan(8);
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  expect(8 + n).toBeLessThanOrEqual(bytes.length);
  const header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n))) as Record<string, unknown>;
  const { __metadata__: _meta, ...tensors } = header;
  const width: Record<string, number> = { F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4 };
  let end = 0;
  for (const [name, t] of Object.entries(tensors) as Array<[string, { dtype: string; shape: number[]; data_offsets: [number, number] }]>) {
    expect(width[t.dtype], `${name} dtype`).toBeDefined();
    expect(t.data_offsets[1] - t.data_offsets[0], `${name} bytes`).toBe(t.shape.reduce((a, b) => a * b, 1) * width[t.dtype]);
    end = Math.max(end, t.data_offsets[1]);
  }
  expect(8 + n + end).toBe(bytes.length);
  return tensors as ReturnType<typeof safetensorsHeader>;
}

/** A JSON file of an unzipped export. */
export function jsonOf(files: Record<string, Uint8Array>, name: string): Record<string, unknown> {
  expect(Object.keys(files), `${name} in the export`).toContain(name);
  return JSON.parse(new TextDecoder().decode(files[name])) as Record<string, unknown>;
}
