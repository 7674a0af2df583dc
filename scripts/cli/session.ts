// One headless session for the CLI: a Vite dev server of the app (no HMR, no file watching, so
// an edit elsewhere never reloads the page mid-run) that also serves the user's local folders and
// files under /__cli/…, and headless Chromium with WebGPU (scripts/chromium.mjs) on the app page,
// whose window.mor1e (src/testApi.ts) drives the app's own engine worker.
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright';
import { createServer, type Plugin, type ViteDevServer } from 'vite';
import { chromiumArgs, chromiumPath, resolveWebgpuAdapter } from '../chromium.mjs';
import { CliError, EXIT } from './options.ts';
import { describeGpu, mountHandler, type GpuInfo, type Mounts } from './host.ts';
import type {} from '../../src/testApi.ts';

export { describeGpu, type GpuInfo, type Mounts };

export interface Session {
  page: Page;
  url: string;
  gpu: GpuInfo;
  close(): Promise<void>;
}

function serveMounts(mounts: Mounts): Plugin {
  return { name: 'mor1e-cli-mounts', configureServer: (server) => void server.middlewares.use(mountHandler(mounts)) };
}

export async function openSession(opts: { root: string; port: number; mounts: Mounts; verbose?: boolean }): Promise<Session> {
  let server: ViteDevServer | null = null;
  let browser: Browser | null = null;
  const close = async () => {
    await browser?.close().catch(() => {});
    await server?.close().catch(() => {});
  };
  try {
    server = await createServer({
      root: opts.root,
      configFile: join(opts.root, 'vite.config.ts'),
      server: { port: opts.port, strictPort: opts.port !== 0, host: '127.0.0.1', hmr: false, watch: null },
      plugins: [serveMounts(opts.mounts)],
      logLevel: 'error',
      clearScreen: false,
    });
    try {
      await server.listen();
    } catch (e) {
      throw new CliError(`the local server could not listen on port ${opts.port}: ${e instanceof Error ? e.message : e} (choose another --port)`);
    }
    const url = server.resolvedUrls!.local[0];
    // The machine's GPU when Chromium finds one, else SwiftShader (MOR1E_WEBGPU_ADAPTER forces
    // either; MOR1E_REQUIRE_GPU=1 refuses SwiftShader). Its own note is dropped: the command
    // names the adapter the page got (describeGpu).
    const consoleLog = console.log;
    console.log = () => {};
    try {
      await resolveWebgpuAdapter();
    } catch (e) {
      throw new CliError(e instanceof Error ? e.message : String(e), EXIT.failed);
    } finally {
      console.log = consoleLog;
    }
    try {
      // Ctrl-C is the CLI's to handle (pause the run, keep its checkpoint), not Playwright's.
      browser = await chromium.launch({ executablePath: chromiumPath(), args: chromiumArgs(), headless: true, handleSIGINT: false, handleSIGTERM: false, handleSIGHUP: false });
    } catch (e) {
      throw new CliError(`Chromium could not start: ${e instanceof Error ? e.message.split('\n')[0] : e}\nInstall one (Debian/Ubuntu: apt-get install chromium) or point CHROMIUM_PATH at a Chromium or Chrome binary.`, EXIT.failed);
    }
    const page = await browser.newPage();
    page.setDefaultTimeout(0);
    page.on('console', (m) => {
      if (opts.verbose || m.type() === 'error') process.stderr.write(`[page] ${m.text()}\n`);
    });
    page.on('pageerror', (e) => process.stderr.write(`[page error] ${e.message}\n`));
    await page.goto(url, { timeout: 120_000 });
    await page.waitForFunction(() => window.mor1e && ['ready', 'unavailable'].includes(window.mor1e.gpuStatus().status), null, { timeout: 180_000, polling: 200 });
    const status = await page.evaluate(() => window.mor1e!.gpuStatus());
    if (status.status !== 'ready') throw new CliError(`WebGPU is unavailable in headless Chromium: ${'message' in status ? status.message : status.status}`, EXIT.failed);
    const gpu = { adapterName: status.adapterName, swiftshader: /swiftshader/i.test(status.adapterName) || (status.adapter.isFallbackAdapter && !/nvidia|amd|intel|apple|qualcomm|arm/i.test(status.adapterName)) };
    return { page, url, gpu, close };
  } catch (e) {
    await close();
    throw e;
  }
}

/** base64 → bytes (the page returns binary files as base64). */
export const fromBase64 = (s: string) => new Uint8Array(Buffer.from(s, 'base64'));
