// What the CLI's two hosts share: headless Chromium with the app page (session.ts) and plain Node
// with Dawn (compare-node.ts, for GPU machines without a browser): serving the user's local
// folders and files under URL prefixes (/__cli/…), and the line that names the GPU adapter.
import { createReadStream, statSync } from 'node:fs';
import { extname, join, normalize, sep } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';

const TYPES: Record<string, string> = { '.json': 'application/json', '.jsonl': 'application/jsonl', '.txt': 'text/plain', '.md': 'text/markdown' };

/** URL prefix → a folder (files under it) or one file (exactly that URL). */
export type Mounts = Record<string, { dir: string } | { file: string }>;

/** A connect-style handler: a mounted file (404 when a mounted path has none), else next(). */
export function mountHandler(mounts: Mounts): (req: IncomingMessage, res: ServerResponse, next: () => void) => void {
  return (req, res, next) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    for (const [prefix, target] of Object.entries(mounts)) {
      let file: string | null = null;
      if ('file' in target && path === decodeURIComponent(prefix)) file = target.file;
      else if ('dir' in target && path.startsWith(prefix)) {
        const f = normalize(join(target.dir, path.slice(prefix.length)));
        if (f.startsWith(normalize(target.dir) + sep)) file = f;
      }
      if (file === null) continue;
      let size: number;
      try {
        const s = statSync(file);
        if (!s.isFile()) throw new Error('not a file');
        size = s.size;
      } catch {
        res.statusCode = 404;
        res.end('Not found');
        return;
      }
      res.setHeader('content-length', String(size));
      res.setHeader('content-type', TYPES[extname(file)] ?? 'application/octet-stream');
      res.setHeader('cache-control', 'no-store');
      createReadStream(file).pipe(res);
      return;
    }
    next();
  };
}

export interface GpuInfo {
  adapterName: string;
  swiftshader: boolean;
}

/** The line every command prints about the adapter; plain words when there is no GPU. */
export function describeGpu(gpu: GpuInfo): string {
  return gpu.swiftshader
    ? `WebGPU adapter: ${gpu.adapterName}\nNo GPU: this runs on SwiftShader, Chromium's CPU implementation of WebGPU — correct but about 1000x slower than a GPU.`
    : `WebGPU adapter: ${gpu.adapterName}`;
}
