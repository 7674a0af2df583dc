// A local stand-in for the Hugging Face hub (tests have no internet): serves the fixture models
// of e2e/fixtures/models under the hub's URL layout, /{owner}/{name}/resolve/{revision}/{file}
// (owner mor1e-test), and models generated at test time (never committed; e2e/scale.spec.ts)
// from $MOR1E_SCALE_DIR (default <tmp>/mor1e-scale) under owner mor1e-scale and as plain folders
// at /mor1e-scale/{name}/{file}. Like the hub: CORS (with Range allowed and Content-Range
// exposed), Content-Length, HTTP range requests (206), and request counts per path
// (GET /__requests; range requests also under "range:" + path) so tests can check that a reload
// comes from the browser's cache and that weights were read by ranges. Only "main" exists as a
// revision.
import { createServer } from 'node:http';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { join, normalize } from 'node:path';
import { tmpdir } from 'node:os';

const ROOTS = { 'mor1e-test': join(import.meta.dirname, 'fixtures', 'models'), 'mor1e-scale': process.env.MOR1E_SCALE_DIR ?? join(tmpdir(), 'mor1e-scale') };
const PORT = Number(process.env.MOR1E_HUB_PORT ?? 5175);
const counts = {};

/** The file a request names, or null: /{owner}/{name}/resolve/main/{file}, or /mor1e-scale/{name}/{file}. */
function resolve(pathname) {
  const hub = /^\/([\w-]+)\/([\w.-]+)\/resolve\/([\w.-]+)\/([\w.-]+)$/.exec(pathname);
  const plain = /^\/(mor1e-scale)\/([\w.-]+)\/([\w.-]+)$/.exec(pathname);
  const [owner, name, file] = hub ? (hub[3] === 'main' ? [hub[1], hub[2], hub[4]] : []) : plain ? [plain[1], plain[2], plain[3]] : [];
  const root = owner && ROOTS[owner];
  if (!root) return null;
  const path = normalize(join(root, name, file));
  return path.startsWith(root) && existsSync(path) ? path : null;
}

createServer((req, res) => {
  res.setHeader('Access-Control-Allow-Origin', '*');
  res.setHeader('Access-Control-Allow-Headers', 'Range');
  res.setHeader('Access-Control-Expose-Headers', 'Content-Range, Content-Length, Accept-Ranges');
  if (req.method === 'OPTIONS') {
    res.statusCode = 204;
    res.end();
    return;
  }
  const url = new URL(req.url ?? '/', 'http://x');
  if (url.pathname === '/__requests') {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(counts));
    return;
  }
  const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
  const key = range ? `range:${url.pathname}` : url.pathname;
  counts[key] = (counts[key] ?? 0) + 1;
  const file = resolve(url.pathname);
  if (!file) {
    res.statusCode = 404;
    res.end('Entry not found');
    return;
  }
  const size = statSync(file).size;
  res.setHeader('accept-ranges', 'bytes');
  res.setHeader('content-type', 'application/octet-stream');
  if (range) {
    const start = Number(range[1]), end = range[2] ? Math.min(Number(range[2]), size - 1) : size - 1;
    if (start >= size || end < start) {
      res.statusCode = 416;
      res.setHeader('content-range', `bytes */${size}`);
      res.end();
      return;
    }
    res.statusCode = 206;
    res.setHeader('content-range', `bytes ${start}-${end}/${size}`);
    res.setHeader('content-length', String(end - start + 1));
    createReadStream(file, { start, end }).pipe(res);
    return;
  }
  res.setHeader('content-length', String(size));
  createReadStream(file).pipe(res);
}).listen(PORT, '127.0.0.1', () => console.log(`fixture hub on http://127.0.0.1:${PORT}`));
