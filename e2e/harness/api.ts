// The typed test API that e2e/harness.html puts on `window.harness`: each call runs real WGSL
// kernels on the page's one shared device and returns plain arrays for the Node-side specs.
import type { MatmulShape } from '../../src/reference/matmul.ts';
import type { AdapterDescription, OptionalFeature } from '../../src/gpu/device.ts';

export interface HarnessInfo {
  adapter: AdapterDescription;
  adapterName: string;
  features: OptionalFeature[];
  limits: Record<string, number>;
}

export type MatmulFn = 'matmulForward' | 'matmulBackwardInput' | 'matmulBackwardWeight' | 'matmulBackwardBias';

export interface MatmulCall {
  fn: MatmulFn;
  shape: MatmulShape;
  /** Operands by role, flat row-major: forward A, B, bias; backwardInput dC, B; backwardWeight A, dC; backwardBias dC. */
  inputs: Record<string, number[]>;
  /** Length of the output buffer (elements). */
  outLength: number;
  /** Initial output contents; absent = poisoned with NaN so unwritten elements fail. */
  init?: number[];
  accumulate?: boolean;
  variant?: 'tiled' | 'naive';
}

export interface HarnessApi {
  info(): HarnessInfo;
  matmul(call: MatmulCall): Promise<number[]>;
  /** GPU errors (validation, compilation, lost) the engine reported so far. */
  errors(): string[];
}

declare global {
  interface Window {
    harness?: HarnessApi;
    harnessError?: string;
  }
}
