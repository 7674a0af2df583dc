// npm run compare:node -- [options]: the same comparison as `npm run compare` (compareRun.ts, the
// same options), in plain Node through Dawn instead of headless Chromium, for GPU machines that
// have no browser (a CUDA server, a container). The app's engine (src/worker/engineApi.ts, what the
// page's worker runs) is called directly; a small local server stands in for Vite: it serves
// public/ (the bundled model and suite) and the user's mounted files at the same URLs as the page
// sees. No checkpoints (the origin-private file system is a browser's). Bundled, with everything
// but Dawn, by scripts/build-node-bench.mjs into bench/dist/compare-node.mjs, so a machine needs
// only node, that file, the repository's shaders/ and public/, and dawn.node (DAWN_NODE).
import { createServer, type Server } from 'node:http';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { dawnGpu, DAWN_HINT } from '../../src/gpu/dawn.node.ts';
import { loadShaders } from '../../src/gpu/shaders.node.ts';
import { api, setEngineHost } from '../../src/worker/engineApi.ts';
import { CliError, COMPARE_HELP, EXIT, parseCompareArgs, optionsOrExit } from './options.ts';
import { mountHandler, type GpuInfo, type Mounts } from './host.ts';
import { runCompare, type CompareDriver } from './compareRun.ts';

/** Mounted files first, then public/ (as Vite serves it at the root); 404 otherwise. */
export function listen(root: string, mounts: Mounts): Promise<{ server: Server; base: string }> {
  const handle = mountHandler({ ...mounts, '/': { dir: join(root, 'public') } });
  const server = createServer((req, res) =>
    handle(req, res, () => {
      res.statusCode = 404;
      res.end('Not found');
    }),
  );
  return new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const addr = server.address();
      if (!addr || typeof addr === 'string') return fail(new Error('the local server has no port'));
      ok({ server, base: `http://127.0.0.1:${addr.port}` });
    });
  });
}

/** The engine in this process with Dawn's GPU, and a driver for the comparison. */
async function openNodeDriver(root: string, mounts: Mounts): Promise<CompareDriver> {
  const { server, base } = await listen(root, mounts);
  const close = () => new Promise<void>((ok) => server.close(() => ok()));
  try {
    // The engine fetches root-relative URLs ('/models/mor1e-tiny/…') as a page would: against the local server.
    const plainFetch = globalThis.fetch;
    globalThis.fetch = (input: string | URL | Request, init?: RequestInit) => plainFetch(typeof input === 'string' && input.startsWith('/') ? base + input : input, init);
    const gpu = await dawnGpu();
    setEngineHost({ gpu: () => gpu, shaders: loadShaders(join(root, 'shaders')), baseUrl: () => `${base}/`, checkpoints: false });
    const init = await api.init(() => {});
    if (!init.ok) throw new CliError(`no WebGPU adapter in Node (Dawn): ${init.reason}.\n${DAWN_HINT}`, EXIT.failed);
    const info: GpuInfo = { adapterName: init.adapterName, swiftshader: /swiftshader/i.test(init.adapterName) || init.adapter.isFallbackAdapter };
    if (info.swiftshader && process.env.MOR1E_REQUIRE_GPU === '1') throw new CliError(`MOR1E_REQUIRE_GPU=1, and Dawn found only ${init.adapterName} (no GPU)`, EXIT.failed);
    return {
      gpu: info,
      runner: 'node-dawn',
      pollMs: 100,
      loadModel: (src) => api.loadModel(typeof src === 'string' ? { kind: 'url', url: src } : src),
      importDataset: (input, options) => api.importDataset(input, options),
      evaluate: (req) => api.evaluate(req),
      startRun: (cfg) => api.startRun(cfg),
      runState: () => api.runState(),
      metricsFrom: async (from) => {
        const all = await api.metrics();
        return { total: all.length, rows: all.slice(from) };
      },
      close,
    };
  } catch (e) {
    await close();
    throw e;
  }
}

export async function main(argv: string[], root: string): Promise<number> {
  const parsed = optionsOrExit('compare', () => parseCompareArgs(argv), COMPARE_HELP);
  if ('exit' in parsed) return parsed.exit;
  return runCompare(parsed.options, root, (mounts) => openNodeDriver(root, mounts));
}

// Run as the bundle (bench/dist/compare-node.mjs): the repository is two folders up.
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
  main(process.argv.slice(2), root).then(
    (code) => process.exit(code),
    (e: unknown) => {
      console.error(e);
      process.exit(EXIT.failed);
    },
  );
}
