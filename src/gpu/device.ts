// Device acquisition: adapter, device with the adapter's own maxima for the limits that decide
// which models fit, optional features, and the user-facing error when WebGPU is unavailable.
// Knows no DOM: it is handed the `GPU` object (navigator.gpu in a browser or worker, the
// `webgpu` package's `create()` in Node).

export type GpuUnavailableReason = 'no-webgpu' | 'no-adapter' | 'device-failed';

/** Thrown when no usable GPU device can be had; `message` is written for the user. */
export class GpuUnavailableError extends Error {
  readonly reason: GpuUnavailableReason;
  constructor(reason: GpuUnavailableReason, message: string) {
    super(message);
    this.name = 'GpuUnavailableError';
    this.reason = reason;
  }
}

/** The optional features the engine uses when the adapter offers them. */
export const OPTIONAL_FEATURES = ['shader-f16', 'timestamp-query', 'subgroups'] as const;
export type OptionalFeature = (typeof OPTIONAL_FEATURES)[number];

/** Limits raised to the adapter's maxima: they decide how large a model or batch fits. */
export const RAISED_LIMITS = [
  'maxBufferSize',
  'maxStorageBufferBindingSize',
  'maxStorageBuffersPerShaderStage',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupsPerDimension',
] as const;

export interface AdapterDescription {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  isFallbackAdapter: boolean;
}

export interface GpuContext {
  device: GPUDevice;
  adapter: AdapterDescription;
  /** Optional features that were offered and turned on. */
  features: OptionalFeature[];
  /** The device's limits that matter to the engine (after raising). */
  limits: Record<(typeof RAISED_LIMITS)[number], number>;
}

export interface AcquireOptions {
  powerPreference?: GPUPowerPreference;
  /** Features to leave off even when offered (tests use this to exercise f32 paths). */
  disableFeatures?: OptionalFeature[];
}

const ENABLE_HINT =
  'Use a recent Chrome or Edge (113+) on desktop, or enable WebGPU: in Chrome open ' +
  'chrome://flags/#enable-unsafe-webgpu and set it to Enabled (on Linux also ' +
  'chrome://flags/#enable-vulkan), then restart the browser. Firefox Nightly: set ' +
  'dom.webgpu.enabled in about:config. Safari 18+: enable the WebGPU feature flag.';

function describeAdapter(adapter: GPUAdapter): AdapterDescription {
  const info = adapter.info;
  const fallback = (info as GPUAdapterInfo & { isFallbackAdapter?: boolean }).isFallbackAdapter;
  return {
    vendor: info?.vendor ?? '',
    architecture: info?.architecture ?? '',
    device: info?.device ?? '',
    description: info?.description ?? '',
    isFallbackAdapter: Boolean(fallback ?? (adapter as GPUAdapter & { isFallbackAdapter?: boolean }).isFallbackAdapter),
  };
}

/**
 * Whether the adapter runs compute on the CPU (a fallback adapter, SwiftShader). Kernels pick a
 * different work split there: every workgroup barrier is a fiber switch per SIMD group and
 * workgroup memory is paid per workgroup, so one invocation per row (token, element group) with
 * plain loops beats the cooperative reductions a GPU wants (BENCHMARKS.md).
 */
export function isCpuAdapter(a: AdapterDescription): boolean {
  return a.isFallbackAdapter || a.architecture === 'swiftshader';
}

/** One line naming the adapter, for logs and benchmark rows: "google / swiftshader (fallback)". */
export function adapterName(a: AdapterDescription): string {
  const parts = [a.vendor || 'unknown vendor', a.architecture || a.device || a.description || 'unknown'];
  return parts.join(' / ') + (a.isFallbackAdapter ? ' (fallback)' : '');
}

export async function acquireDevice(gpu: GPU | undefined | null, opts: AcquireOptions = {}): Promise<GpuContext> {
  if (!gpu) {
    throw new GpuUnavailableError('no-webgpu', `This browser does not expose WebGPU (navigator.gpu is missing). ${ENABLE_HINT}`);
  }
  let adapter: GPUAdapter | null = null;
  try {
    adapter = await gpu.requestAdapter({ powerPreference: opts.powerPreference ?? 'high-performance' });
  } catch (e) {
    throw new GpuUnavailableError('no-adapter', `Requesting a WebGPU adapter failed: ${String(e)}. ${ENABLE_HINT}`);
  }
  if (!adapter) {
    throw new GpuUnavailableError(
      'no-adapter',
      'WebGPU is present but no GPU adapter was returned: the GPU may be blocklisted or its driver ' +
        `unsupported. ${ENABLE_HINT} On Linux without a usable GPU driver, Chrome can run WebGPU on the CPU ` +
        'when started with --enable-unsafe-webgpu --use-webgpu-adapter=swiftshader (very slow).',
    );
  }
  const disabled = new Set(opts.disableFeatures ?? []);
  const features = OPTIONAL_FEATURES.filter((f) => adapter.features.has(f) && !disabled.has(f));
  const requiredLimits: Record<string, number> = {};
  for (const name of RAISED_LIMITS) requiredLimits[name] = adapter.limits[name];
  let device: GPUDevice;
  try {
    device = await adapter.requestDevice({
      label: 'mor1e-device',
      requiredFeatures: features as GPUFeatureName[],
      requiredLimits,
    });
  } catch (e) {
    throw new GpuUnavailableError('device-failed', `The GPU adapter refused to create a device: ${String(e)}`);
  }
  const limits = {} as GpuContext['limits'];
  for (const name of RAISED_LIMITS) limits[name] = device.limits[name];
  return { device, adapter: describeAdapter(adapter), features, limits };
}
