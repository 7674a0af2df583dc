// Which Chromium the tests, benchmarks and the CLI drive, and with which flags. Order:
// $CHROMIUM_PATH, then Debian/Ubuntu's /usr/bin/chromium (or chromium-browser), else Playwright's
// own build (`npx playwright install chromium`). Returns undefined for "Playwright's own".
import { existsSync } from 'node:fs';

export function chromiumPath() {
  if (process.env.CHROMIUM_PATH) {
    if (!existsSync(process.env.CHROMIUM_PATH)) throw new Error(`CHROMIUM_PATH=${process.env.CHROMIUM_PATH} does not exist`);
    return process.env.CHROMIUM_PATH;
  }
  for (const p of ['/usr/bin/chromium', '/usr/bin/chromium-browser']) if (existsSync(p)) return p;
  return undefined;
}

const BASE_ARGS = ['--enable-unsafe-webgpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];
/** A hardware adapter through Vulkan (Linux; other platforms use their native backend anyway). */
const HARDWARE_ARGS = process.platform === 'linux' ? ['--enable-features=Vulkan', '--ignore-gpu-blocklist'] : ['--ignore-gpu-blocklist'];
/**
 * SwiftShader, with Dawn's `disable_workgroup_init`: Dawn zero-fills a kernel's workgroup memory
 * at every workgroup's start, which SwiftShader pays per invocation x array size (BENCHMARKS.md,
 * "The K split and SwiftShader's workgroup memory") — about half of a training step of the bundled
 * model. Every kernel here writes each workgroup-memory element before reading it (all 22 shaders
 * with workgroup memory were audited for it: out-of-range slots store 0 or a neutral value), and
 * the GPU tests run with the toggle. They alone would not catch a kernel that relied on the fill
 * at small sizes: SwiftShader zero-fills its own block for every batch of up to 16 workgroups.
 */
const SWIFTSHADER_ARGS = ['--use-webgpu-adapter=swiftshader', '--enable-dawn-features=disable_workgroup_init'];

/**
 * WebGPU flags for the adapter chosen by resolveWebgpuAdapter() (or forced with
 * MOR1E_WEBGPU_ADAPTER=hardware | swiftshader): the machine's GPU through Vulkan, or
 * SwiftShader, Chromium's CPU Vulkan (correct but slow). Before resolving, hardware is assumed.
 */
export function chromiumArgs() {
  const mode = process.env.MOR1E_WEBGPU_ADAPTER;
  if (mode && mode !== 'hardware' && mode !== 'swiftshader') throw new Error(`MOR1E_WEBGPU_ADAPTER must be "hardware" or "swiftshader", got "${mode}"`);
  return [...BASE_ARGS, ...(mode === 'swiftshader' ? SWIFTSHADER_ARGS : HARDWARE_ARGS)];
}

/** The adapter headless Chromium gets with `args`: { name, fallback } or null (no WebGPU adapter). */
async function probe(args) {
  const { chromium } = await import('playwright');
  const { createServer } = await import('node:http');
  // WebGPU needs a secure context: a page from 127.0.0.1, not about:blank.
  const server = createServer((_, res) => res.end('<!doctype html><title>WebGPU probe</title>'));
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const browser = await chromium.launch({ executablePath: chromiumPath(), args, headless: true });
  try {
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${server.address().port}/`);
    return await page.evaluate(async () => {
      const a = await navigator.gpu?.requestAdapter({ powerPreference: 'high-performance' });
      if (!a) return null;
      const i = a.info ?? {};
      const name = [i.vendor, i.architecture, i.device, i.description].filter(Boolean).join(' / ');
      return { name, fallback: !!(a.isFallbackAdapter ?? i.isFallbackAdapter) || i.architecture === 'swiftshader' };
    });
  } finally {
    await browser.close();
    server.close();
  }
}

/**
 * Chooses the WebGPU adapter once per process tree: a hardware adapter when Chromium finds one
 * (NVIDIA containers expose /dev/nvidia*, not /dev/dri, so this is probed, not guessed), else
 * SwiftShader. Prints the choice, stores it in MOR1E_WEBGPU_ADAPTER (so child processes and
 * chromiumArgs() agree) and MOR1E_WEBGPU_ADAPTER_NAME. With MOR1E_REQUIRE_GPU=1 a fallback to
 * SwiftShader is an error, so "GPU smoke tests" cannot silently run on the CPU.
 */
export async function resolveWebgpuAdapter() {
  const require = process.env.MOR1E_REQUIRE_GPU === '1';
  if (process.env.MOR1E_WEBGPU_ADAPTER) {
    if (require && process.env.MOR1E_WEBGPU_ADAPTER === 'swiftshader') throw new Error('MOR1E_REQUIRE_GPU=1, but MOR1E_WEBGPU_ADAPTER=swiftshader forces the CPU adapter');
    return { mode: process.env.MOR1E_WEBGPU_ADAPTER, name: process.env.MOR1E_WEBGPU_ADAPTER_NAME ?? '(forced)' };
  }
  let hw = null;
  try {
    hw = await probe([...BASE_ARGS, ...HARDWARE_ARGS]);
  } catch (e) {
    console.warn(`WebGPU probe failed (${e instanceof Error ? e.message : e}); using SwiftShader`);
  }
  const mode = hw && !hw.fallback ? 'hardware' : 'swiftshader';
  const name = mode === 'hardware' ? hw.name : 'SwiftShader (CPU)';
  if (mode === 'swiftshader' && require) throw new Error(`MOR1E_REQUIRE_GPU=1, but Chromium found no hardware WebGPU adapter (${hw ? `only ${hw.name}` : 'none'}); check the GPU driver and Vulkan loader (see ../shared/WEBGPU_HERE.md)`);
  process.env.MOR1E_WEBGPU_ADAPTER = mode;
  process.env.MOR1E_WEBGPU_ADAPTER_NAME = name;
  console.log(`WebGPU adapter: ${name}${mode === 'swiftshader' ? ' — no hardware adapter found, running on the CPU' : ''}`);
  return { mode, name };
}
