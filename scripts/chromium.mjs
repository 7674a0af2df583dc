// Which Chromium the tests and benchmarks drive, and with which flags. Order: $CHROMIUM_PATH,
// then Debian/Ubuntu's /usr/bin/chromium (or chromium-browser), else Playwright's own build
// (`npx playwright install chromium`). Returns undefined for "Playwright's own".
import { existsSync } from 'node:fs';

export function chromiumPath() {
  if (process.env.CHROMIUM_PATH) {
    if (!existsSync(process.env.CHROMIUM_PATH)) throw new Error(`CHROMIUM_PATH=${process.env.CHROMIUM_PATH} does not exist`);
    return process.env.CHROMIUM_PATH;
  }
  for (const p of ['/usr/bin/chromium', '/usr/bin/chromium-browser']) if (existsSync(p)) return p;
  return undefined;
}

/**
 * WebGPU flags. Without a GPU (no /dev/dri on Linux, or MOR1E_WEBGPU_ADAPTER=swiftshader) the
 * adapter is SwiftShader, Chromium's CPU Vulkan: correct but slow.
 */
export function chromiumArgs() {
  const args = [
    '--enable-unsafe-webgpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
    '--disable-quic',
  ];
  const forced = process.env.MOR1E_WEBGPU_ADAPTER;
  const noGpu = process.platform === 'linux' && !existsSync('/dev/dri');
  if (forced === 'swiftshader' || (!forced && noGpu)) args.push('--use-webgpu-adapter=swiftshader');
  if (process.platform === 'linux' && !noGpu && forced !== 'swiftshader') args.push('--enable-features=Vulkan');
  return args;
}
