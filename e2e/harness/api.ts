// The typed test API that e2e/harness.html puts on `window.harness`: each call runs real WGSL
// kernels (through the same launchers the app uses) on the page's one shared device and
// returns plain arrays for the Node-side specs.
import type { AdapterDescription, OptionalFeature } from '../../src/gpu/device.ts';
import type { KernelTime } from '../../src/gpu/profile.ts';

export interface HarnessInfo {
  adapter: AdapterDescription;
  adapterName: string;
  features: OptionalFeature[];
  limits: Record<string, number>;
}

export interface KernelInput {
  data: number[];
  /** Element type of the GPU buffer (default f32). */
  type?: 'f32' | 'u32' | 'i32';
}

export interface KernelOutput {
  length: number;
  /** Initial contents; absent = poisoned with NaN so that an element never written fails. */
  init?: number[];
}

export interface KernelCall {
  /** A launcher name from e2e/harness/ops.ts, e.g. "matmulForward", "attentionBackward". */
  op: string;
  inputs: Record<string, KernelInput>;
  outputs: Record<string, KernelOutput>;
  /** Shapes, scalars, options and host-side data the launcher takes. */
  args?: Record<string, unknown>;
}

export interface HarnessApi {
  info(): HarnessInfo;
  /** Runs one launcher; resolves to every output buffer read back. */
  run(call: KernelCall): Promise<Record<string, number[]>>;
  /** Runs one launcher under Engine.startProfile: its outputs and each kernel's GPU time. */
  profile(call: KernelCall): Promise<{ outputs: Record<string, number[]>; kernels: KernelTime[] }>;
  /** GPU errors (validation, compilation, lost) the engine reported so far. */
  errors(): string[];
}

declare global {
  interface Window {
    harness?: HarnessApi;
    harnessError?: string;
  }
}
