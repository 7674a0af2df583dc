// WebGPU in plain Node through Dawn (the `webgpu` package's dawn.node), for the Node entry points
// on GPU machines without a browser (bench:node, compare:node). DAWN_NODE=path/to/dawn.node loads
// a prebuilt binary without node_modules; DAWN_FLAGS=a,b passes Dawn's instance flags
// (e.g. enable-dawn-features=disable_workgroup_init).
import { createRequire } from 'node:module';

interface Dawn {
  create(flags: string[]): GPU;
  globals: Record<string, unknown>;
}

/** Dawn's GPU object, with the WebGPU globals (GPUBufferUsage, …) installed on globalThis. */
export async function dawnGpu(): Promise<GPU> {
  const dawn = process.env.DAWN_NODE
    ? (createRequire(import.meta.url)(process.env.DAWN_NODE) as Dawn)
    : ((await import('webgpu')) as unknown as Dawn);
  Object.assign(globalThis, dawn.globals);
  return dawn.create((process.env.DAWN_FLAGS ?? '').split(',').filter(Boolean));
}

/** What to check when Dawn finds no adapter. */
export const DAWN_HINT =
  'Dawn needs a Vulkan driver (Linux), Metal (macOS) or D3D12 (Windows). On Linux check `vulkaninfo`, or point ' +
  "VK_DRIVER_FILES / VK_ICD_FILENAMES at the driver's ICD json.";
